import { loadRulesFromText } from '@citysoc/sigma';
import { type DrillRunRecord } from '@citysoc/drills';
import { type CatalogRule, drillValidated, techniqueGrid, toCatalogRule } from './rule-catalog';

const rule = (id: string, tactics: string[], techniques: string[], enabled = true): CatalogRule => ({
  id,
  title: id,
  level: 'high',
  status: 'test',
  kind: 'detection',
  enabled,
  reason: enabled ? null : 'unsupported modifier',
  tactics,
  techniques,
  file: `${id}.yml`,
});

describe('techniqueGrid', () => {
  it.each([
    {
      name: 'counts enabled rules per technique under each tactic they name',
      rules: [
        rule('a', ['credential-access'], ['T1110.001']),
        rule('b', ['credential-access', 'initial-access'], ['T1110.001', 'T1078']),
        rule('off', ['credential-access'], ['T1110.003'], false),
      ],
      incidents: {
        techniques: [{ key: 'T1110.001', incidents: 1 }],
        pairs: [{ tactic: 'credential-access', technique: 'T1110.001', incidents: 1 }],
      },
      tactics: {
        'credential-access': [
          ['T1078', 1, 0],
          ['T1110.001', 2, 1],
        ],
        'initial-access': [
          ['T1078', 1, 0],
          ['T1110.001', 2, 1],
        ],
      },
      unplaced: [],
    },
    {
      name: 'keeps renumbered ids and unknown tactics; a technique without a tactic is unplaced',
      rules: [rule('s', ['defense-impairment'], ['T1686.002']), rule('x', [], ['T1046'])],
      incidents: {
        techniques: [{ key: 'T1595.001', incidents: 1 }],
        pairs: [{ tactic: 'discovery', technique: 'T1595.001', incidents: 1 }],
      },
      tactics: {
        'defense-impairment': [['T1686.002', 1, 0]],
        discovery: [['T1595.001', 0, 1]],
      },
      unplaced: [['T1046', 1, 0]],
    },
    {
      name: 'places an incident technique under every tactic it came with; counts add up; no tactic = unplaced',
      rules: [rule('a', ['credential-access'], ['T1110'])],
      incidents: {
        techniques: [
          { key: 'T1110', incidents: 4 },
          { key: 'T1595', incidents: 3 },
          { key: 'T1999', incidents: 2 },
        ],
        pairs: [
          { tactic: 'discovery', technique: 'T1110', incidents: 1 },
          { tactic: 'discovery', technique: 'T1595', incidents: 2 },
          { tactic: 'reconnaissance', technique: 'T1595', incidents: 1 },
        ],
      },
      tactics: {
        'credential-access': [['T1110', 1, 4]],
        discovery: [['T1595', 0, 3]],
        reconnaissance: [['T1595', 0, 3]],
      },
      unplaced: [['T1999', 0, 2]],
    },
  ])('$name', ({ rules, incidents, tactics, unplaced }) => {
    const g = techniqueGrid(rules, incidents);
    const flat = (cs: Array<{ id: string; rules: number; incidents: number }>) =>
      cs.map((c) => [c.id, c.rules, c.incidents]);
    expect(Object.fromEntries(g.tactics.map((t) => [t.key, flat(t.techniques)]))).toEqual(tactics);
    expect(flat(g.unplaced)).toEqual(unplaced);
  });
});

describe('toCatalogRule', () => {
  it('counts correlations as enabled (the correlation engine runs them) and keeps ATT&CK from tags', () => {
    const { rules } = loadRulesFromText(
      `title: SSH failures
id: 11111111-1111-4111-8111-111111111111
name: ssh_failures
status: test
level: low
tags: [attack.credential-access, attack.t1110.001]
logsource: {product: linux, service: sshd}
detection: {sel: {message|contains: Failed password}, condition: sel}
---
title: SSH brute force
id: 22222222-2222-4222-8222-222222222222
status: experimental
level: high
tags: [attack.credential-access, attack.t1110.001]
correlation: {type: event_count, rules: [ssh_failures], group-by: [source.ip], timespan: 2m, condition: {gte: 20}}
`,
      'x.yml',
    );
    expect(rules.map(toCatalogRule).map((r) => [r.kind, r.status, r.enabled, r.techniques])).toEqual([
      ['detection', 'test', true, ['T1110.001']],
      ['correlation', 'experimental', true, ['T1110.001']],
    ]);
  });
});

describe('drillValidated (the drill-validated ATT&CK layer)', () => {
  const run = (
    runId: string,
    scenario: string,
    updatedAt: string,
    techniques: Record<string, 'pass' | 'fail'> | undefined,
    status: DrillRunRecord['status'] = 'finished',
  ): DrillRunRecord => ({
    runId,
    scenario,
    scenarioSha256: 'x',
    syslog: [],
    exporters: [],
    window: { start: updatedAt, end: updatedAt },
    status,
    registeredAt: updatedAt,
    registeredBy: 'lead',
    seed: 0,
    speed: 1,
    updatedAt,
    ...(techniques ? { techniques } : {}),
  });

  it.each([
    ['a passing finished run validates', [run('r1', 's', '2026-01-01', { T1110: 'pass' })], ['T1110']],
    ['a failing one does not', [run('r1', 's', '2026-01-01', { T1110: 'fail' })], []],
    [
      'the latest run of a scenario decides',
      [run('r1', 's', '2026-01-01', { T1110: 'pass' }), run('r2', 's', '2026-01-02', { T1110: 'fail' })],
      [],
    ],
    [
      'aborted, running and technique-less runs do not count',
      [
        run('r1', 's', '2026-01-01', { T1110: 'pass' }),
        run('r2', 's', '2026-01-02', { T1110: 'fail' }, 'aborted'),
        run('r3', 's', '2026-01-03', undefined),
        run('r4', 't', '2026-01-03', { T1046: 'pass' }, 'running'),
      ],
      ['T1110'],
    ],
    [
      'another scenario can validate what one failed; ids are upper-cased',
      [
        run('r1', 's', '2026-01-01', { t1110: 'fail' }),
        run('r2', 't', '2026-01-01', { 't1110.001': 'pass' }),
      ],
      ['T1110.001'],
    ],
  ])('%s', (_what, runs, want) => expect([...drillValidated(runs).keys()].sort()).toEqual(want));
});
