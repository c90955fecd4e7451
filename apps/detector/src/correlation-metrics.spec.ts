import { type EcsEvent } from '@citysoc/ecs';
import { loadRulesFromText } from '@citysoc/sigma';
import { Registry } from 'prom-client';
import { correlationRows, registerCorrelationMetrics } from './correlation-metrics';
import { buildEngine } from './engine';
import { OTHER_RULES } from './rule-metrics';

const rules = loadRulesFromText(
  `title: fail
name: fail
id: m-base
logsource: { product: citysoc }
detection:
  sel: { message|contains: fail }
  condition: sel
---
title: many fails
id: m-corr
correlation:
  type: event_count
  rules: [fail]
  group-by: [source.ip]
  timespan: 1h
  condition: { gte: 3 }
`,
  'm.yml',
).rules;

const T0 = Date.parse('2026-11-27T12:00:00Z');
const ev = (id: string, offsetMs: number, ip: string): EcsEvent => ({
  '@timestamp': new Date(T0 + offsetMs).toISOString(),
  message: 'fail',
  event: { id, created: '2026-11-27T12:00:00Z' },
  source: { ip },
});

const stats = (groups: number, hits: number, lateDropped: number) => ({
  hits,
  lateDropped,
  groupEvictions: 0,
  groupsExpired: 0,
  entryEvictions: 0,
  valueMissing: 0,
  groups,
});

describe('correlation metrics', () => {
  it('export active groups, firings and late drops per correlation rule, summed over engines', async () => {
    const engine = buildEngine(rules, undefined);
    const now = new Date(T0);
    const fired: string[] = [];
    for (const [i, ip] of ['10.0.0.1', '10.0.0.1', '10.0.0.1', '10.0.0.2'].entries())
      fired.push(...engine.detect(ev(`e${i}`, i * 1000, ip), now).map((a) => a.rule.id));
    // Two hours before 10.0.0.1's window: past the timespan (no lateness allowed), dropped.
    engine.detect(ev('late', -2 * 3600_000, '10.0.0.1'), now);
    expect(fired).toEqual(['m-corr']);

    // A partition this replica owns, with its own correlator.
    const partition = engine.newCorrelator();
    const e = ev('p1', 0, '10.0.0.9');
    partition.observe(e, engine.detectWithMatches(e, now, false).matched, now);

    const registry = new Registry();
    registerCorrelationMetrics(registry, () => [engine.correlationStats(), partition.stats()], 10);
    const text = await registry.metrics();
    expect(text).toContain('citysoc_detector_correlation_groups_active{rule_id="m-corr"} 3');
    expect(text).toContain('citysoc_detector_correlations_fired{rule_id="m-corr"} 1');
    expect(text).toContain('citysoc_detector_correlation_late_dropped{rule_id="m-corr"} 1');
  });

  it('label the busiest correlations by id and sum the rest under _other', () => {
    const rows = correlationRows(
      [
        { rules: { a: stats(5, 1, 0), b: stats(1, 2, 3), c: stats(0, 7, 1) } },
        { rules: { a: stats(2, 0, 4), c: stats(0, 1, 0) } },
      ],
      1,
    );
    expect(rows).toEqual([
      { id: 'a', groups: 7, fired: 1, lateDropped: 4 },
      { id: OTHER_RULES, groups: 1, fired: 10, lateDropped: 4 },
    ]);
  });
});
