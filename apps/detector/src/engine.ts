import { type Alert, alertId, correlationAlertId, type EcsEvent } from '@citysoc/ecs';
import { entityOf } from '@citysoc/incidents';
import {
  compileRules,
  type CompiledRuleSet,
  type CompileOptions,
  CorrelationEngine,
  type CorrelationHit,
  type CorrelationState,
  type RuleError,
  type SigmaRule,
} from '@citysoc/sigma';
import { logsourcePredicate } from './logsource';

export interface DetectionEngine {
  readonly active: number;
  readonly correlations: number;
  readonly notApplicable: SigmaRule[];
  readonly errors: RuleError[];
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
 * Rules are partitioned by logsource once at load, so an event only meets the rules of its logsource;
 * correlation rules run on the ids stage 1 matched. Pure: the detector app feeds events and publishes
 * what it returns.
 */
export function buildEngine(rules: SigmaRule[], opts: CompileOptions = {}): DetectionEngine {
  const groups = new Map<string, { applies: (e: Record<string, unknown>) => boolean; rules: SigmaRule[] }>();
  const notApplicable: SigmaRule[] = [];
  const correlationRules = rules.filter((r) => r.kind === 'correlation');
  for (const rule of rules) {
    if (rule.kind !== 'detection') {
      if (rule.kind !== 'correlation') notApplicable.push(rule);
      continue;
    }
    const key = JSON.stringify([
      rule.logsource.product ?? '',
      rule.logsource.category ?? '',
      rule.logsource.service ?? '',
    ]);
    let group = groups.get(key);
    if (!group) {
      const applies = logsourcePredicate(rule.logsource);
      if (!applies) {
        notApplicable.push(rule);
        continue;
      }
      group = { applies, rules: [] };
      groups.set(key, group);
    }
    group.rules.push(rule);
  }
  const compiled: Array<{ applies: (e: Record<string, unknown>) => boolean; set: CompiledRuleSet }> = [];
  const errors: RuleError[] = [];
  let active = 0;
  for (const g of groups.values()) {
    const set = compileRules(g.rules, opts);
    errors.push(...set.errors);
    active += set.size;
    compiled.push({ applies: g.applies, set });
  }
  let correlation = new CorrelationEngine(correlationRules, rules);
  errors.push(...correlation.errors);
  const hasCorrelations = correlation.rules.length > 0;

  return {
    active,
    correlations: correlation.rules.length,
    notApplicable,
    errors,
    detect(event: EcsEvent, now = new Date(), correlate = true): Alert[] {
      const out: Alert[] = [];
      const doc = event as Record<string, unknown>;
      const matched: string[] = [];
      const created = now.toISOString();
      for (const { applies, set } of compiled) {
        if (!applies(doc)) continue;
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
