import { combineRuleStats, type RuleStatsSnapshot, ruleStatsKey } from './rule-stats';

const NOW = Date.parse('2026-11-27T10:00:00Z');
const snap = (
  instance: string,
  ageMs: number,
  rules: RuleStatsSnapshot['rules'],
  since = '2026-11-27T09:00:00Z',
) => ({
  instance,
  since,
  at: new Date(NOW - ageMs).toISOString(),
  interval_ms: 15_000,
  events: 100,
  rules,
});

describe('combineRuleStats', () => {
  it('sums fresh replicas per rule and reports the earliest start', () => {
    const c = combineRuleStats(
      [
        snap('d1', 1000, [{ id: 'r1', evaluations: 10, matches: 2, seconds: 0.5 }]),
        snap(
          'd2',
          20_000,
          [
            { id: 'r1', evaluations: 5, matches: 1, seconds: 0.25 },
            { id: 'r2', evaluations: 7, matches: 0, seconds: 0.1 },
          ],
          '2026-11-27T08:00:00Z',
        ),
      ],
      NOW,
    );
    expect(c.instances).toBe(2);
    expect(c.events).toBe(200);
    expect(c.since).toBe('2026-11-27T08:00:00.000Z');
    expect(c.at).toBe(new Date(NOW - 1000).toISOString());
    expect(c.rules.get('r1')).toEqual({ id: 'r1', evaluations: 15, matches: 3, seconds: 0.75 });
    expect(c.rules.get('r2')).toEqual({ id: 'r2', evaluations: 7, matches: 0, seconds: 0.1 });
  });

  it.each([
    [
      'a stopped replica (older than 3 intervals)',
      snap('d1', 45_001, [{ id: 'r1', evaluations: 1, matches: 1, seconds: 1 }]),
    ],
    ['not an object', 'garbage'],
    ['a bad time', { ...snap('d1', 0, []), at: 'yesterday' }],
    ['a bad rule row', { ...snap('d1', 0, []), rules: [{ id: 'r1', evaluations: '1' }] }],
  ])('leaves out %s', (_why, s) => {
    const c = combineRuleStats([s], NOW);
    expect(c).toMatchObject({ instances: 0, since: null, at: null, events: 0 });
    expect(c.rules.size).toBe(0);
  });

  it('turns replica ids into KV keys', () => {
    expect(ruleStatsKey('host-a:1234')).toBe('host-a_1234');
    expect(ruleStatsKey('')).toBe('detector');
  });
});
