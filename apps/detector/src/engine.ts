import { type Alert, alertId, type EcsEvent } from '@citysoc/ecs';
import { entityOf } from '@citysoc/incidents';
import {
  compileRules,
  type CompiledRuleSet,
  type CompileOptions,
  type RuleError,
  type SigmaRule,
} from '@citysoc/sigma';
import { logsourcePredicate } from './logsource';

export interface DetectionEngine {
  readonly active: number;
  readonly notApplicable: SigmaRule[];
  readonly errors: RuleError[];
  detect(event: EcsEvent, now?: Date): Alert[];
}

/**
 * Rules are partitioned by logsource once at load, so an event is only matched against the rules whose
 * logsource it belongs to. Pure: the detector app feeds it events and publishes what it returns.
 */
export function buildEngine(rules: SigmaRule[], opts: CompileOptions = {}): DetectionEngine {
  const groups = new Map<string, { applies: (e: Record<string, unknown>) => boolean; rules: SigmaRule[] }>();
  const notApplicable: SigmaRule[] = [];
  for (const rule of rules) {
    if (rule.kind !== 'detection') {
      notApplicable.push(rule);
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
  return {
    active,
    notApplicable,
    errors,
    detect(event: EcsEvent, now = new Date()): Alert[] {
      const out: Alert[] = [];
      const doc = event as Record<string, unknown>;
      for (const { applies, set } of compiled) {
        if (!applies(doc)) continue;
        for (const m of set.match(doc)) {
          const r = m.rule;
          out.push({
            id: alertId(r.id, r.version, event.event.id),
            '@timestamp': event['@timestamp'],
            created_at: now.toISOString(),
            rule: {
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
            },
            entity: entityOf(event),
            event_ids: [event.event.id],
            event,
            matched_fields: m.matchedFields,
          });
        }
      }
      return out;
    },
  };
}
