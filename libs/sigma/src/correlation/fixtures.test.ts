import { loadRulesFromText } from '../load';
import type { SigmaRule } from '../model';
import { CorrelationEngine } from './engine';
import type { CorrelationHit, CorrelationOptions } from './types';

/** Test helpers shared by the correlation specs; `.test.ts` keeps them out of the build and out of jest runs. */

export function base(name: string, id = `${name}-id`): string {
  return `title: ${name}\nid: ${id}\nname: ${name}\nlogsource:\n    product: test\ndetection:\n    sel:\n        rule: ${name}\n    condition: sel\n`;
}

export function loadAll(...docs: string[]): { correlations: SigmaRule[]; all: SigmaRule[] } {
  const { rules, errors } = loadRulesFromText(docs.join('---\n'), 'corr.yml');
  if (errors.length > 0) throw new Error(`test rules do not load: ${JSON.stringify(errors)}`);
  return { correlations: rules.filter((r) => r.kind === 'correlation'), all: rules };
}

export function engineOf(docs: string[], opts?: CorrelationOptions): CorrelationEngine {
  const { correlations, all } = loadAll(...docs);
  return new CorrelationEngine(correlations, all, opts);
}

/** One input event: time in seconds, the base rule ids it matched, its fields. */
export type Ev = [number, string[], Record<string, unknown>?];

export interface Fired {
  at: number;
  rule: string;
  group: Record<string, unknown>;
  start: number;
  end: number;
  refs: string[];
  value: number;
  alert: boolean;
}

export function summarize(h: CorrelationHit, at: number): Fired {
  return {
    at,
    rule: h.rule.id,
    group: h.group,
    start: h.windowStartMs / 1000,
    end: h.windowEndMs / 1000,
    refs: h.eventRefs,
    value: h.value,
    alert: h.alert,
  };
}

/** Feeds events in order; event i has ref `e<i>`; returns every hit with the index of the event that fired it. */
export function run(engine: CorrelationEngine, events: Ev[], offset = 0): Fired[] {
  const out: Fired[] = [];
  events.forEach(([t, ids, fields], i) => {
    for (const h of engine.observe(fields ?? {}, t * 1000, ids, `e${i + offset}`))
      out.push(summarize(h, i + offset));
  });
  return out;
}
