import { randomBytes } from 'node:crypto';
import { observe, type ApiTarget, type Observation, type RunRegistry } from './api-client';
import {
  certFingerprint,
  openTcpSender,
  openTlsSender,
  openUdpSender,
  type Sender,
  type TlsClientOptions,
} from './emit';
import { type FlowExporter } from './encode';
import { plan, type Timeline } from './plan';
import { type DrillRunOutcome, type DrillRunRecord } from './registry';
import { parseDuration, type FlowSourceDef, type Scenario, type SyslogSourceDef } from './scenario';
import { scoreRun, type Scorecard } from './score';
import { exporterFor, flowRecord, renderSyslog } from './render';
import { frameSyslog } from './syslog-format';

export interface LiveTargets {
  host: string;
  syslogUdpPort: number;
  syslogTcpPort: number;
  syslogTlsPort: number;
  netflowPort: number;
  ipfixPort: number;
  /** Local address flow exporters bind (the exporter identity the collector sees; loopback aliases work). */
  exporterAddress: string;
  tls?: TlsClientOptions;
}

export interface LiveRunOptions {
  seed: number;
  speed: number;
  vars?: Record<string, string>;
  runId?: string;
  mode: 'ci' | 'human';
  blind: boolean;
  targets: LiveTargets;
  api?: ApiTarget;
  registry?: RunRegistry;
  /** `marker`: count only alerts the collectors marked for this run; `window`: every alert since the start. */
  attribution: 'marker' | 'window';
  /** Give up waiting for detections after this long (wall clock, after the last send). */
  timeoutMs: number;
  pollMs: number;
  /**
   * Keep watching this long after the last send even when every detection is in: a must-not-fire rule
   * (and a benign twin's silence) can only be judged after the pipeline had time to react.
   */
  settleMs: number;
  /** A line per step and expectation as it happens. */
  progress: (line: string) => void;
  registeredBy: string;
}

export interface LiveRunResult {
  runId: string;
  timeline: Timeline;
  startMs: number;
  scorecard: Scorecard;
  observation: Observation;
  sent: { syslog: number; flows: number };
}

export function newRunId(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return `d-${[...randomBytes(8)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
}

/**
 * A live run: bind one sender per source (so the allocation names real ports), register the run, send the
 * timeline through the real listeners at `speed`, then poll the API until every expectation is decided or
 * the timeout passes, and score. Senders are closed and the run is finished in the registry in all cases.
 */
export async function runLive(scenario: Scenario, sha256: string, o: LiveRunOptions): Promise<LiveRunResult> {
  const runId = o.runId ?? newRunId();
  const tl = plan(scenario, { seed: o.seed, vars: o.vars ?? {}, runId });
  const senders = new Map<string, Sender>();
  const exporters = new Map<string, FlowExporter>();
  let registered = false;
  let finalCard: Scorecard | undefined;
  try {
    for (const [name, src] of Object.entries(scenario.sources)) {
      if (!tl.items.some((i) => i.source === name)) continue;
      if (src.kind === 'syslog') {
        const t = o.targets;
        senders.set(
          name,
          src.transport === 'udp'
            ? await openUdpSender({ host: t.host, port: t.syslogUdpPort }, 'udp')
            : src.transport === 'tcp'
              ? await openTcpSender({ host: t.host, port: t.syslogTcpPort })
              : await openTlsSender({ host: t.host, port: t.syslogTlsPort }, t.tls ?? {}),
        );
      } else {
        const port = src.version === 'ipfix' ? o.targets.ipfixPort : o.targets.netflowPort;
        senders.set(
          name,
          await openUdpSender({ host: o.targets.host, port }, 'flow', o.targets.exporterAddress),
        );
        exporters.set(name, exporterFor(src));
      }
    }
    const startMs = Date.now();
    const lastDeadline = Math.max(
      0,
      ...(scenario.expect.detections ?? []).map((d) => parseDuration(d.deadline ?? '10m')),
    );
    const windowEnd = startMs + tl.durationMs / o.speed + lastDeadline + o.timeoutMs;
    if (o.registry) {
      const now = new Date(startMs).toISOString();
      // The drill client certificate a TLS source presents is the run's too, whatever port it binds.
      const tlsCert = [...senders.values()].some((s) => s.transport === 'tls')
        ? o.targets.tls?.cert
        : undefined;
      const rec: DrillRunRecord = {
        runId,
        scenario: scenario.id,
        scenarioSha256: sha256,
        syslog: [...senders.entries()]
          .filter(([, s]) => s.transport !== 'flow')
          .map(([, s]) => ({
            transport: s.transport as 'udp' | 'tcp' | 'tls',
            address: s.localAddress,
            port: s.localPort,
          })),
        exporters: Object.entries(scenario.sources)
          .filter(([n, s]) => s.kind === 'netflow' && senders.has(n))
          .map(([, s]) => ({
            address: o.targets.exporterAddress,
            domain: (s as FlowSourceDef).observation_domain ?? 0,
          })),
        ...(tlsCert ? { clientCerts: [certFingerprint(tlsCert)] } : {}),
        window: { start: now, end: new Date(windowEnd).toISOString() },
        status: 'running',
        registeredAt: now,
        registeredBy: o.registeredBy,
        seed: o.seed,
        speed: o.speed,
        updatedAt: now,
        notify: scenario.human?.notifications ?? 'dry-run',
      };
      await o.registry.register(rec);
      registered = true;
    }
    o.progress(
      `DRILL ${runId}  ${scenario.id} v${scenario.version}  speed×${o.speed}  seed ${o.seed}${o.blind ? '  blind' : ''}  ${tl.items.length} records`,
    );
    const sent = { syslog: 0, flows: 0 };
    const perStep = new Map<string, { done: number; total: number }>();
    for (const it of tl.items) {
      const s = perStep.get(it.step) ?? { done: 0, total: 0 };
      s.total++;
      perStep.set(it.step, s);
    }
    for (const it of tl.items) {
      await sleep(startMs + it.atMs / o.speed - Date.now());
      const sender = senders.get(it.source)!;
      const now = Date.now();
      if (it.kind === 'syslog') {
        const s = scenario.sources[it.source] as SyslogSourceDef;
        const text = renderSyslog(scenario, tl, it, now, runId);
        await sender.send(
          s.transport === 'udp' ? Buffer.from(text) : frameSyslog(text, s.framing ?? 'octet'),
        );
        sent.syslog++;
      } else {
        const f = it.flow!;
        // The flow "happened" over its duration ending now; exporters report flows when they end.
        for (const d of exporters.get(it.source)!.encode([flowRecord(f, now - f.durationMs, now)], now))
          await sender.send(d);
        sent.flows++;
      }
      const st = perStep.get(it.step)!;
      st.done++;
      if (st.done === st.total)
        o.progress(`${clock(Date.now() - startMs)} ${it.step.padEnd(16)} ${st.done}/${st.total} sent`);
    }

    const lastSendMs = Date.now();
    let observation: Observation = { alerts: [], incidents: [] };
    let scorecard = score(scenario, sha256, tl, runId, startMs, o, observation);
    finalCard = scorecard;
    const reported = new Set<string>();
    if (o.api) {
      const sinceIso = new Date(startMs - 1000).toISOString();
      // A human exercise also waits for the team: until every expected incident is resolved, or the
      // resolve target (default 60 min) has passed.
      const humanWait =
        o.mode === 'human' && (scenario.expect.incidents ?? []).length > 0
          ? parseDuration(scenario.human?.targets?.ttr ?? '60m')
          : 0;
      const giveUp = Date.now() + Math.max(lastDeadline, humanWait) + o.timeoutMs;
      for (;;) {
        observation = await observe(o.api, sinceIso, o.attribution === 'marker' ? runId : undefined);
        scorecard = score(scenario, sha256, tl, runId, startMs, o, observation);
        finalCard = scorecard;
        for (const e of scorecard.expectations) {
          if (e.status === 'pending' || reported.has(e.id)) continue;
          reported.add(e.id);
          const mark = e.status === 'pass' ? '✔' : e.status === 'delayed' ? '⚠' : '✘';
          o.progress(
            `${clock(Date.now() - startMs)} ${mark} ${e.id.padEnd(22)} ${e.status}${e.ttd_ms !== null ? `  TTD ${(e.ttd_ms / 1000).toFixed(1)}s` : ''}  ${e.alert_ids[0] ?? ''}`,
          );
        }
        for (const i of scorecard.incidents) {
          for (const [what, ms] of [
            ['claimed', i.tta_ms],
            ['resolved', i.ttr_ms],
          ] as const) {
            if (ms === null || reported.has(`${i.expected}/${what}`)) continue;
            reported.add(`${i.expected}/${what}`);
            o.progress(
              `${clock(Date.now() - startMs)} ✔ ${i.expected} ${what} after ${(ms / 1000).toFixed(0)}s`,
            );
          }
        }
        const settled = Date.now() >= lastSendMs + o.settleMs;
        const teamDone = o.mode !== 'human' || scorecard.incidents.every((i) => i.ttr_ms !== null);
        if (
          scorecard.result === 'fail' ||
          (scorecard.result === 'pass' && settled && teamDone) ||
          Date.now() > giveUp
        )
          break;
        await sleep(o.pollMs);
      }
    }
    return { runId, timeline: tl, startMs, scorecard, observation, sent };
  } finally {
    await Promise.allSettled([...senders.values()].map((s) => s.close()));
    // The techniques the run validated go with the registry record: the console's drill-validated layer.
    const outcome: DrillRunOutcome = finalCard
      ? {
          ...(finalCard.result !== 'pending' ? { result: finalCard.result } : {}),
          techniques: finalCard.coverage.by_technique,
          attack_version: finalCard.attack_version,
        }
      : {};
    if (registered && o.registry) await o.registry.finish(runId, 'finished', outcome).catch(() => undefined);
  }
}

function score(
  scenario: Scenario,
  sha256: string,
  tl: Timeline,
  runId: string,
  startMs: number,
  o: LiveRunOptions,
  obs: Observation,
): Scorecard {
  return scoreRun({
    scenario,
    sha256,
    timeline: tl,
    runId,
    startMs,
    speed: o.speed,
    mode: o.mode,
    blind: o.blind,
    alerts: obs.alerts,
    incidents: obs.incidents,
    nowMs: Date.now(),
  });
}
