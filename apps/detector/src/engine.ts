import { DRILL_LABEL, DRILL_TAG, drillRunOf } from '@citysoc/drills';
import { type Alert, alertId, correlationAlertId, type EcsEvent } from '@citysoc/ecs';
import { entityOf } from '@citysoc/incidents';
import {
  type CompiledPipeline,
  type CompiledRuleSet,
  compileRules,
  type CompileOptions,
  CorrelationEngine,
  type CorrelationHit,
  type CorrelationState,
  type RuleError,
  pipelineCompileOptions,
  type SigmaRule,
} from '@citysoc/sigma';

export interface DetectionEngine {
  readonly active: number;
  readonly correlations: number;
  readonly notApplicable: SigmaRule[];
  readonly errors: RuleError[];
  /** The stage-1 set, for its per-rule stats. */
  readonly set: CompiledRuleSet;
  /**
   * Stage 1 (per event) and, unless `correlate` is false (a redelivered event already counted, or
   * correlations run on their partition owners), stage 2 (correlations on event time).
   */
  detect(event: EcsEvent, now?: Date, correlate?: boolean): Alert[];
  /** As `detect`, also returning the ids of the rules that matched (what correlations are fed). */
  detectWithMatches(event: EcsEvent, now?: Date, correlate?: boolean): { alerts: Alert[]; matched: string[] };
  snapshot(): CorrelationState;
  restore(state: CorrelationState): void;
  /** Partition keys of the correlation groups an event with these matches updates. */
  routeKeys(event: EcsEvent, matched: readonly string[]): string[];
  /** A separate correlation state over the same rules (one per owned partition). */
  newCorrelator(): Correlator;
  /** Statistics of the engine's own correlation state (per correlation rule). */
  correlationStats(): CorrelationStats;
}

export type CorrelationStats = ReturnType<CorrelationEngine['stats']>;

/** Correlation state of its own over the engine's correlation rules. */
export interface Correlator {
  /** Feeds one event's matches; `owns` restricts counting to the groups of one partition. */
  observe(
    event: EcsEvent,
    matched: readonly string[],
    now: Date,
    owns?: (routeKey: string) => boolean,
  ): Alert[];
  snapshot(): CorrelationState;
  restore(state: CorrelationState): void;
  stats(): CorrelationStats;
}

type RuleMeta = Alert['rule'];

function ruleMeta(r: SigmaRule): RuleMeta {
  return {
    id: r.id,
    title: r.title,
    level: r.level,
    version: r.version,
    ...(r.description ? { description: r.description } : {}),
    ...(r.author ? { author: r.author } : {}),
    ...(r.license ? { license: r.license } : {}),
    ...(r.references ? { references: r.references } : {}),
    ...(r.tags ? { tags: r.tags } : {}),
    path: r.source.file,
  };
}

/** A correlation's entity is its group: `source.ip:10.1.2.3` for one group-by field, the JSON otherwise. */
function groupEntity(hit: CorrelationHit, event: EcsEvent): string {
  const entries = Object.entries(hit.group).filter(([, v]) => v !== null && v !== '');
  if (entries.length === 1) return `${entries[0]![0]}:${String(entries[0]![1])}`;
  return entries.length > 0 ? JSON.stringify(hit.group) : entityOf(event);
}

/** How many drill-marked event ids the correlator remembers; older ones count as real (the safe side). */
const MAX_DRILL_REFS = 200_000;

/**
 * A correlation alert carries the event that closed the window only. It may count as a drill only if every
 * event in the window was a drill record: otherwise a drill event closing a window of real events would hide
 * a real attack from statistics and reporting. Drill-marked event ids are remembered (bounded, not
 * snapshotted: after a restart or eviction they count as real, which errs on the safe side).
 */
class DrillRefs {
  private readonly refs = new Map<string, string>();

  observe(event: EcsEvent): void {
    const run = drillRunOf(event);
    if (run === undefined) return;
    if (this.refs.size >= MAX_DRILL_REFS) this.refs.delete(this.refs.keys().next().value!);
    this.refs.set(event.event.id, run);
  }

  forHit(event: EcsEvent, refs: readonly string[]): EcsEvent {
    if (drillRunOf(event) === undefined || refs.every((r) => this.refs.has(r))) return event;
    const { [DRILL_LABEL]: _drop, ...labels } = event.labels ?? {};
    return { ...event, labels, tags: (event.tags ?? []).filter((t) => t !== DRILL_TAG) };
  }
}

/**
 * Stage 1 is one compiled set routed by logsource (libs/sigma finds the logsources that admit an event,
 * memoizing predicate verdicts per distinct categorical field values, then walks it with a literal index of
 * just their rules); correlation rules run on the ids it matched.
 * Pure: the detector app feeds events and publishes what it returns.
 */
export function buildEngine(
  rules: SigmaRule[],
  pipeline: CompiledPipeline | undefined,
  opts: CompileOptions = {},
): DetectionEngine {
  const correlationRules = rules.filter((r) => r.kind === 'correlation');
  const set = compileRules(rules, pipeline ? { ...opts, ...pipelineCompileOptions(pipeline) } : opts);
  const errors: RuleError[] = [...set.errors];
  const newCorrelator = (): Correlator & { engine: () => CorrelationEngine } => {
    let correlation = new CorrelationEngine(correlationRules, rules);
    const drills = new DrillRefs();
    return {
      engine: () => correlation,
      observe(event, matched, now, owns) {
        const out: Alert[] = [];
        if (matched.length === 0) return out;
        const t = Date.parse(event['@timestamp']);
        const created = now.toISOString();
        const doc = event as Record<string, unknown>;
        drills.observe(event);
        for (const hit of correlation.observe(
          doc,
          Number.isNaN(t) ? now.getTime() : t,
          matched,
          event.event.id,
          owns,
        )) {
          if (!hit.alert) continue;
          out.push({
            id: correlationAlertId(hit.rule.id, hit.groupKey, hit.windowStartMs),
            '@timestamp': new Date(hit.windowEndMs).toISOString(),
            created_at: created,
            rule: ruleMeta(hit.rule),
            entity: groupEntity(hit, event),
            event_ids: hit.eventRefs,
            event: drills.forHit(event, hit.eventRefs),
            matched_fields: {
              ...hit.group,
              'correlation.value': hit.value,
              'correlation.window_start': new Date(hit.windowStartMs).toISOString(),
            },
          });
        }
        return out;
      },
      snapshot: () => correlation.snapshot(),
      stats: () => correlation.stats(),
      restore(state) {
        correlation = CorrelationEngine.restore(correlationRules, rules, state);
      },
    };
  };
  const main = newCorrelator();
  const first = main.engine();
  errors.push(...first.errors);
  const hasCorrelations = first.rules.length > 0;

  const detectWithMatches = (event: EcsEvent, now = new Date(), correlate = true) => {
    const alerts: Alert[] = [];
    const matched: string[] = [];
    const created = now.toISOString();
    for (const m of set.match(event)) {
      const r = m.rule;
      matched.push(r.id);
      // A rule that only feeds a correlation alerts on its own only if the correlation says `generate`.
      if (hasCorrelations && !main.engine().emitsAlerts(r.id)) continue;
      alerts.push({
        id: alertId(r.id, r.version, event.event.id),
        '@timestamp': event['@timestamp'],
        created_at: created,
        rule: ruleMeta(r),
        entity: entityOf(event),
        event_ids: [event.event.id],
        event,
        matched_fields: m.matchedFields,
      });
    }
    if (hasCorrelations && correlate) alerts.push(...main.observe(event, matched, now));
    return { alerts, matched };
  };

  return {
    active: set.size,
    correlations: first.rules.length,
    notApplicable: [...set.notApplicable],
    errors,
    set,
    detect: (event, now, correlate) => detectWithMatches(event, now, correlate).alerts,
    detectWithMatches,
    snapshot: () => main.snapshot(),
    restore: (state) => main.restore(state),
    routeKeys: (event, matched) => (hasCorrelations ? main.engine().routeKeys(event, matched) : []),
    newCorrelator,
    correlationStats: () => main.stats(),
  };
}
