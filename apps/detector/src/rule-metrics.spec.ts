import { type RuleSetStats } from '@citysoc/sigma';
import { OTHER_RULES, ruleCostRows } from './rule-metrics';

const stats = (n: number): RuleSetStats => ({
  events: 100,
  evaluations: 0,
  index: { always: 0, paths: 0, atoms: 0, automatonStates: 0 },
  rules: Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    title: `rule ${i}`,
    file: 'f.yml',
    line: 1,
    evaluations: 10 * i,
    matches: i,
    timedEvaluations: 1,
    timedNs: 1000 * i,
    estimatedNs: 1000 * i,
  })),
});

describe('per-rule cost rows for Prometheus', () => {
  it('label the costliest rules by id and sum the rest under _other', () => {
    const rows = ruleCostRows(stats(5000), 3);
    expect(rows.map((r) => r.id)).toEqual(['r4999', 'r4998', 'r4997', OTHER_RULES]);
    const other = rows[3]!;
    // r0..r4996
    expect(other.matches).toBe((4996 * 4997) / 2);
    expect(other.evaluations).toBe(10 * ((4996 * 4997) / 2));
    expect(rows[0]).toEqual({ id: 'r4999', evaluations: 49990, matches: 4999, seconds: 4999e-6 });
  });

  it('has no _other row when every rule fits', () => {
    expect(ruleCostRows(stats(2), 50).map((r) => r.id)).toEqual(['r1', 'r0']);
  });
});
