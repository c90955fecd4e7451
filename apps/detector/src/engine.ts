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
   * Stage 1 (per event) and, unless `correlate` is false (a redelivered event already counted), stage 2
   * (correlations on event time).
   */
  detect(event: EcsEvent, now?: Date, correlate?: boolean): Alert[];
  snapshot(): CorrelationState;
  restore(state: CorrelationState): void;
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

/**
 * Stage 1 is one compiled set routed by logsource (libs/sigma builds one literal index for all rules and
 * asks each logsource predicate at most once per event); correlation rules run on the ids it matched.
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
  let correlation = new CorrelationEngine(correlationRules, rules);
  errors.push(...correlation.errors);
  const hasCorrelations = correlation.rules.length > 0;

  return {
    active: set.size,
    correlations: correlation.rules.length,
    notApplicable: [...set.notApplicable],
    errors,
    set,
    detect(event: EcsEvent, now = new Date(), correlate = true): Alert[] {
      const out: Alert[] = [];
      const doc = event as Record<string, unknown>;
      const matched: string[] = [];
      const created = now.toISOString();
      for (const m of set.match(doc)) {
        const r = m.rule;
        matched.push(r.id);
        // A rule that only feeds a correlation alerts on its own only if the correlation says `generate`.
        if (hasCorrelations && !correlation.emitsAlerts(r.id)) continue;
        out.push({
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
      if (hasCorrelations && correlate && matched.length > 0) {
        const t = Date.parse(event['@timestamp']);
        for (const hit of correlation.observe(
          doc,
          Number.isNaN(t) ? now.getTime() : t,
          matched,
          event.event.id,
        )) {
          if (!hit.alert) continue;
          out.push({
            id: correlationAlertId(hit.rule.id, hit.groupKey, hit.windowStartMs),
            '@timestamp': new Date(hit.windowEndMs).toISOString(),
            created_at: created,
            rule: ruleMeta(hit.rule),
            entity: groupEntity(hit, event),
            event_ids: hit.eventRefs,
            event,
            matched_fields: {
              ...hit.group,
              'correlation.value': hit.value,
              'correlation.window_start': new Date(hit.windowStartMs).toISOString(),
            },
          });
        }
      }
      return out;
    },
    snapshot: () => correlation.snapshot(),
    restore(state: CorrelationState) {
      correlation = CorrelationEngine.restore(correlationRules, rules, state);
    },
  };
}
