import { type EcsEvent } from '@citysoc/ecs';
import { loadRulesFromText } from '@citysoc/sigma';
import { buildEngine } from './engine';
import { partitionOf } from './partitions';

const rules = loadRulesFromText(
  `title: fail
name: fail
id: p-base
logsource: { product: citysoc }
detection:
  sel: { message|contains: fail }
  condition: sel
---
title: many fails
id: p-corr
correlation:
  type: event_count
  rules: [fail]
  group-by: [source.ip]
  timespan: 1h
  condition: { gte: 3 }
`,
  'p.yml',
).rules;

const ev = (i: number, ip: string): EcsEvent => ({
  '@timestamp': new Date(Date.parse('2026-11-27T00:00:00Z') + i * 1000).toISOString(),
  message: 'fail',
  event: { id: `e${i}`, created: '2026-11-27T00:00:00Z' },
  source: { ip },
});

describe('correlation partitions', () => {
  it('hash a route key to a stable partition in range', () => {
    expect(partitionOf('["p-corr","10.0.0.1"]', 8)).toBe(partitionOf('["p-corr","10.0.0.1"]', 8));
    for (let i = 0; i < 100; i++) {
      const p = partitionOf(`["p-corr","10.0.0.${i}"]`, 8);
      expect(p >= 0 && p < 8 && Number.isInteger(p)).toBe(true);
    }
  });

  it('owners of disjoint partitions together fire exactly what one engine fires', () => {
    const engine = buildEngine(rules, undefined);
    const events = Array.from({ length: 60 }, (_, i) => ev(i, `10.0.0.${i % 7}`));
    const single = engine.newCorrelator();
    const parts = [0, 1, 2].map((p) => ({ p, c: engine.newCorrelator() }));
    const now = new Date();
    const one: string[] = [];
    const split: string[] = [];
    for (const e of events) {
      const matched = engine.detectWithMatches(e, now, false).matched;
      one.push(...single.observe(e, matched, now).map((a) => a.id));
      for (const { p, c } of parts) {
        split.push(...c.observe(e, matched, now, (k) => partitionOf(k, 3) === p).map((a) => a.id));
      }
    }
    expect(one).toHaveLength(7);
    expect(split.sort()).toEqual(one.sort());
  });
});
