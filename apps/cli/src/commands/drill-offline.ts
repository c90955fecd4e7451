import { type Alert, type EcsEvent, eventId, type Severity } from '@citysoc/ecs';
import { decodeDatagram, flowRecordId, flowToEcs, MemoryTemplateCache } from '@citysoc/flow';
import {
  DEFAULT_GROUPING,
  groupOf,
  maxSeverity,
  type GroupingPolicy,
  unitOf,
  unitPathOf,
} from '@citysoc/incidents';
import {
  exporterFor,
  type FlowExporter,
  flowRecord,
  type FlowSourceDef,
  type SyslogSourceDef,
  markDrillEvent,
  type ObservedAlert,
  type ObservedIncident,
  parseDuration,
  plan,
  renderSyslog,
  type Scenario,
  type Scorecard,
  scoreRun,
  tagsToAttack,
} from '@citysoc/drills';
import { parseSyslog } from '@citysoc/syslog';
import { type DetectionEngine } from '../../../detector/src/engine';
import { sourceHealthEvent } from '../../../collector/src/sources/syslog/monitor';
import { SilenceWatch, type SourcePolicy } from '../../../collector/src/sources/syslog/policy';

/** The collector's default CITYSOC_SYSLOG_SILENT_SECONDS. */
const DEFAULT_SILENT_AFTER_MS = 900_000;
/** The live runner's --ci settle period: how long a run with nothing to wait for stays active. */
const SETTLE_MS = 10_000;

export interface OfflineOptions {
  seed: number;
  vars?: Record<string, string>;
  /** Virtual start of the run (epoch ms). */
  startMs: number;
  runId: string;
  grouping?: GroupingPolicy;
  /**
   * The collector's silence threshold for the runner's address (CITYSOC_SYSLOG_SILENT_SECONDS; default
   * 900 s; 0 = off): the collector's SilenceWatch runs on the virtual clock and its source-silent events go
   * through the engine like the live collector's, for as long as the run is active.
   */
  silentAfterMs?: number;
}

export interface OfflineResult {
  scorecard: Scorecard;
  alerts: Alert[];
  /** What the scorer saw, so `drill score` can re-score the run. */
  observed: ObservedAlert[];
  incidents: ObservedIncident[];
  nowMs: number;
  eventsStored: number;
  /** Parser that claimed each syslog line, per source (`linux_auth`, `fortigate` …). */
  parsers: Record<string, Record<string, number>>;
  parseFailures: string[];
  flowErrors: string[];
}

export function observedAlert(a: Alert, createdMs: number): ObservedAlert {
  return { id: a.id, ruleId: a.rule.id, ruleTitle: a.rule.title, createdMs, ...tagsToAttack(a.rule.tags) };
}

/**
 * A drill without a pipeline: the timeline goes through the collector's own parsers (parseSyslog, the
 * flow encoder → decodeDatagram → flowToEcs) and the detector's engine on a virtual clock, and incidents
 * are grouped with the responder's grouping function. It proves the scenario, the parsers and the rules
 * agree; the live run proves the deployed pipeline does.
 */
export function runOffline(
  scenario: Scenario,
  sha256: string,
  engine: DetectionEngine,
  opts: OfflineOptions,
): OfflineResult {
  const tl = plan(scenario, { seed: opts.seed, vars: opts.vars ?? {}, runId: opts.runId });
  const exporters = new Map<string, FlowExporter>();
  const caches = new Map<string, MemoryTemplateCache>();
  const parsers: Record<string, Record<string, number>> = {};
  const parseFailures: string[] = [];
  const flowErrors: string[] = [];
  const alerts: Alert[] = [];
  const observed: ObservedAlert[] = [];
  const policy = opts.grouping ?? DEFAULT_GROUPING;
  const incidents = new Map<string, ObservedIncident>();
  const detect = (ev: EcsEvent, atMs: number) => {
    for (const a of engine.detect(markDrillEvent(ev, opts.runId), new Date(atMs))) {
      alerts.push(a);
      observed.push(observedAlert(a, atMs));
      const g = groupOf(a, policy);
      const cur = incidents.get(g.key);
      if (cur) {
        if (!cur.ruleIds.includes(a.rule.id)) cur.ruleIds.push(a.rule.id);
        cur.severity = maxSeverity(cur.severity as Severity, a.rule.level);
      } else {
        incidents.set(g.key, {
          id: `offline-${incidents.size + 1}`,
          ruleIds: [a.rule.id],
          severity: a.rule.level,
          unit: unitPathOf(unitOf(a)),
          createdMs: atMs,
          acknowledgedMs: null,
          closedMs: null,
          disposition: null,
          slaBreaches: [],
        });
      }
    }
  };
  // Every drill sender is 127.0.0.1 here, one unregistered source for the collector, as on a lab runner.
  const sender: SourcePolicy = {
    name: '127.0.0.1',
    registered: false,
    timezone: 'Asia/Ho_Chi_Minh',
    silentAfterMs: opts.silentAfterMs ?? DEFAULT_SILENT_AFTER_MS,
  };
  const silence = new SilenceWatch([], opts.startMs);
  const silentCheck = (now: number) => {
    for (const s of silence.check(now)) {
      const at = s.lastSeenMs + sender.silentAfterMs;
      detect(sourceHealthEvent(sender, sender.name, 'source-silent', s.lastSeenMs, at, s.drill), at);
    }
  };
  for (const item of tl.items) {
    const t = opts.startMs + item.atMs;
    if (item.kind === 'syslog') {
      silentCheck(t);
      silence.seen(sender, t, opts.runId);
      const s = scenario.sources[item.source] as SyslogSourceDef;
      const text = renderSyslog(scenario, tl, item, t, opts.runId);
      const raw = Buffer.from(text);
      const r = parseSyslog(raw, {
        senderIp: '127.0.0.1',
        senderPort: 40000,
        receivedAt: new Date(t),
        eventId: eventId('127.0.0.1', raw),
        inputName: `drill-${item.source}`,
        transport: s.transport,
        timezone: s.tz ?? 'Asia/Ho_Chi_Minh',
      });
      if (!r.ok) {
        parseFailures.push(`${item.step}#${item.index}: ${r.code}: ${r.reason}: ${text}`);
        continue;
      }
      const parser = String((r.event as { citysoc?: { parser?: string } }).citysoc?.parser ?? 'unknown');
      const per = (parsers[item.source] ??= {});
      per[parser] = (per[parser] ?? 0) + 1;
      detect(r.event, t);
    } else {
      const f = item.flow!;
      let ex = exporters.get(item.source);
      if (!ex) {
        ex = exporterFor(scenario.sources[item.source] as FlowSourceDef, opts.startMs - 3_600_000);
        exporters.set(item.source, ex);
        caches.set(item.source, new MemoryTemplateCache());
      }
      // Exporters report a flow when it ends.
      const exportMs = t + f.durationMs;
      for (const d of ex.encode([flowRecord(f, t, exportMs)], exportMs)) {
        const res = decodeDatagram(
          d,
          { exporter: '127.0.0.1', receivedAt: new Date(exportMs) },
          caches.get(item.source)!,
        );
        for (const e of res.errors) flowErrors.push(`${item.step}#${item.index}: ${e.code}: ${e.message}`);
        for (const rec of res.records) {
          const ev = flowToEcs(rec, { receivedAt: new Date(exportMs) });
          ev.event.id = flowRecordId(rec);
          detect(ev, exportMs);
        }
      }
    }
  }
  const endMs = opts.startMs + tl.durationMs;
  // The live run stays registered while it waits for its detections (up to the last deadline) or, with
  // nothing to wait for, for the settle period; after that a silent drill sender is not reported.
  const deadlines = (scenario.expect.detections ?? []).map((d) => parseDuration(d.deadline ?? '10m'));
  silentCheck(endMs + (deadlines.length > 0 ? Math.max(...deadlines) : SETTLE_MS));
  const scorecard = scoreRun({
    scenario,
    sha256,
    timeline: tl,
    runId: opts.runId,
    startMs: opts.startMs,
    speed: 1,
    mode: 'offline',
    blind: false,
    alerts: observed,
    incidents: [...incidents.values()],
    eventsStored: tl.items.length - parseFailures.length,
    // Offline, everything that will ever fire has fired: no expectation is pending.
    nowMs: endMs + 24 * 3_600_000,
  });
  return {
    scorecard,
    alerts,
    observed,
    incidents: [...incidents.values()],
    nowMs: endMs + 24 * 3_600_000,
    eventsStored: tl.items.length - parseFailures.length,
    parsers,
    parseFailures,
    flowErrors,
  };
}
