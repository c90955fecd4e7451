import { CorrelationEngine } from './engine';
import { type Ev, base, engineOf, loadAll, run } from './fixtures.test';
import type { CorrelationOptions } from './types';

const count = (condition: string, timespan = '1m', extra = ''): string[] => [
  `title: count\nid: count\ncorrelation:\n    type: event_count\n    rules: [hit]\n    group-by: [user]\n    timespan: ${timespan}\n    condition:\n${condition}${extra}`,
  base('hit'),
];
const hit = (t: number, user = 'alice', extra: Record<string, unknown> = {}): Ev => [
  t,
  ['hit-id'],
  { user, ...extra },
];

describe('correlation conditions', () => {
  it.each<[string, string, number[]]>([
    ['gt 2 fires on the third event', '        gt: 2\n', [2]],
    ['gte 2 fires on the second event', '        gte: 2\n', [1]],
    ['lt 2 fires on the first event, which is alone in its window', '        lt: 2\n', [0]],
    ['lte 1 fires on the first event', '        lte: 1\n', [0]],
    ['eq 3 fires exactly on the third event', '        eq: 3\n', [2]],
    ['neq 1 fires on the second event', '        neq: 1\n', [1]],
    ['a range gt 2 and lte 3 fires on the third event', '        gt: 2\n        lte: 3\n', [2]],
    ['a range that cannot hold never fires', '        gt: 3\n        lt: 4\n', []],
  ])('%s', (_name, condition, firedAt) => {
    const events = [hit(0), hit(1), hit(2), hit(3), hit(4)];
    expect(run(engineOf(count(condition)), events).map((h) => h.at)).toEqual(firedAt);
  });
});

describe('sliding windows on event time', () => {
  it('fires on a burst that straddles a fixed-window boundary, which a tumbling minute would split 3 + 2', () => {
    const events = [hit(57), hit(58), hit(59), hit(60), hit(61)];
    const hits = run(engineOf(count('        gte: 5\n')), events);
    expect(hits.map((h) => [h.at, h.start, h.end])).toEqual([[4, 57, 61]]);
  });

  it('lets old events leave the window, so five events over more than a minute do not fire', () => {
    const events = [hit(0), hit(20), hit(40), hit(60), hit(61)];
    expect(run(engineOf(count('        gte: 5\n')), events)).toEqual([]);
  });

  it('uses event time, not arrival order: an event reordered within the window still counts', () => {
    const events = [hit(10), hit(30), hit(20), hit(40), hit(50)];
    expect(run(engineOf(count('        gte: 5\n')), events).map((h) => h.at)).toEqual([4]);
  });
});

describe('episodes: a correlation fires once per window episode and re-arms after it', () => {
  it('fires once for a burst far above the threshold', () => {
    const events = Array.from({ length: 50 }, (_, i) => hit(i));
    expect(run(engineOf(count('        gte: 3\n')), events).map((h) => h.at)).toEqual([2]);
  });

  it('re-arms for windows that end more than a timespan after the fired one, so a sustained storm fires once per timespan', () => {
    // One event per 10 s for 5 minutes, threshold 3 per minute.
    const events = Array.from({ length: 30 }, (_, i) => hit(i * 10));
    const hits = run(engineOf(count('        gte: 3\n')), events);
    expect(hits.map((h) => [h.start, h.end])).toEqual([
      [0, 20],
      [30, 90],
      [100, 160],
      [170, 230],
    ]);
    // No event counts in two hits.
    const refs = hits.flatMap((h) => h.refs);
    expect(new Set(refs).size).toBe(refs.length);
  });

  it('keeps episodes per group: another user fires independently', () => {
    const events = [hit(0), hit(1, 'bob'), hit(2), hit(3, 'bob'), hit(4), hit(5, 'bob')];
    const hits = run(engineOf(count('        gte: 3\n')), events);
    expect(hits.map((h) => [h.at, h.group])).toEqual([
      [4, { user: 'alice' }],
      [5, { user: 'bob' }],
    ]);
  });

  it('is deterministic: the same events in the same order give identical hits and identities', () => {
    const events = Array.from({ length: 200 }, (_, i) => hit((i * 7919) % 600, `u${i % 3}`));
    const a = run(engineOf(count('        gte: 4\n')), events);
    const b = run(engineOf(count('        gte: 4\n')), events);
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });
});

describe('group-by values', () => {
  it('puts events without the group-by field in their own group, distinct from the string "null"', () => {
    const docs = count('        gte: 2\n');
    const hits = run(engineOf(docs), [
      [0, ['hit-id'], {}],
      [1, ['hit-id'], { user: 'null' }],
      [2, ['hit-id'], { user: null }],
    ]);
    expect(hits.map((h) => [h.at, h.group])).toEqual([[2, { user: null }]]);
  });

  it('compares group values as Sigma strings, so the number 22 and the string "22" are one group', () => {
    const hits = run(engineOf(count('        gte: 2\n')), [
      [0, ['hit-id'], { user: 22 }],
      [1, ['hit-id'], { user: '22' }],
    ]);
    expect(hits.map((h) => h.group)).toEqual([{ user: '22' }]);
  });

  it('without group-by counts every event in one group', () => {
    const docs = [
      `title: all\nid: all\ncorrelation:\n    type: event_count\n    rules: [hit]\n    timespan: 1m\n    condition:\n        gte: 2\n`,
      base('hit'),
    ];
    expect(run(engineOf(docs), [hit(0, 'a'), hit(1, 'b')]).map((h) => [h.at, h.group])).toEqual([[1, {}]]);
  });

  it('counts an event that matches two referenced rules once for event_count', () => {
    const docs = [
      `title: c\nid: c\ncorrelation:\n    type: event_count\n    rules: [a, b]\n    group-by: [user]\n    timespan: 1m\n    condition:\n        gte: 2\n`,
      base('a'),
      base('b'),
    ];
    const hits = run(engineOf(docs), [
      [0, ['a-id', 'b-id'], { user: 'x' }],
      [1, ['a-id'], { user: 'x' }],
    ]);
    expect(hits.map((h) => [h.at, h.value])).toEqual([[1, 2]]);
  });
});

describe('temporal_ordered', () => {
  const docs = [
    `title: seq\nid: seq\ncorrelation:\n    type: temporal_ordered\n    rules: [a, b, c]\n    group-by: [user]\n    timespan: 1m\n`,
    base('a'),
    base('b'),
    base('c'),
  ];
  const ev = (t: number, r: string): Ev => [t, [`${r}-id`], { user: 'u' }];
  it.each<[string, Ev[], number[]]>([
    ['a, b, c in order fires', [ev(0, 'a'), ev(1, 'b'), ev(2, 'c')], [2]],
    ['c, b, a does not fire', [ev(0, 'c'), ev(1, 'b'), ev(2, 'a')], []],
    ['a, c, b, c fires on the second c', [ev(0, 'a'), ev(1, 'c'), ev(2, 'b'), ev(3, 'c')], [3]],
    [
      'order is by event time: b arriving late but stamped between a and c fires',
      [ev(0, 'a'), ev(2, 'c'), ev(1, 'b')],
      [2],
    ],
  ])('%s', (_name, events, firedAt) => {
    expect(run(engineOf(docs), events).map((h) => h.at)).toEqual(firedAt);
  });
});

describe('chaining and references', () => {
  const chain = (outerGenerate: string): string[] => [
    `title: outer\nid: outer\ncorrelation:\n    type: event_count\n    rules: [inner-id]\n    group-by: [user]\n    timespan: 1h\n    condition:\n        gte: 2\n${outerGenerate}`,
    `title: inner\nid: inner-id\nname: inner\ncorrelation:\n    type: event_count\n    rules: [hit]\n    group-by: [user]\n    timespan: 1m\n    condition:\n        gte: 3\n`,
    base('hit'),
  ];

  it('feeds an inner correlation hit to the correlation that references it by id', () => {
    // Two separate bursts of three: the inner fires twice, the outer counts those two hits.
    const events = [hit(0), hit(1), hit(2), hit(600), hit(601), hit(602)];
    const hits = run(engineOf(chain('')), events);
    expect(hits.map((h) => [h.at, h.rule, h.alert])).toEqual([
      [2, 'inner-id', false],
      [5, 'inner-id', false],
      [5, 'outer', true],
    ]);
    expect(hits[2]?.refs).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
  });

  it('with generate: true on the outer correlation the inner one alerts on its own; its base rules follow the inner generate', () => {
    const engine = engineOf(chain('    generate: true\n'));
    expect(engine.emitsAlerts('inner-id')).toBe(true);
    expect(engine.emitsAlerts('hit-id')).toBe(false); // only the inner references it, without generate
    const hits = run(engine, [hit(0), hit(1), hit(2)]);
    expect(hits.map((h) => [h.rule, h.alert])).toEqual([['inner-id', true]]);
  });

  it('lets rules that no correlation references alert as usual', () => {
    expect(engineOf(chain('')).emitsAlerts('unrelated')).toBe(true);
  });
});

describe('rule problems are quarantined with an error, not thrown', () => {
  const corr = (body: string, id = 'bad'): string => `title: ${id}\nid: ${id}\ncorrelation:\n${body}`;
  it.each<[string, string[], string, RegExp]>([
    [
      'an unknown referenced rule',
      [corr('    type: event_count\n    rules: [nope]\n    timespan: 1m\n    condition:\n        gte: 1\n')],
      'UNKNOWN_IDENTIFIER',
      /nope/,
    ],
    [
      'an unknown type',
      [corr('    type: event_sum\n    rules: [hit]\n    timespan: 1m\n    condition:\n        gte: 1\n')],
      'INVALID_FIELD',
      /event_sum/,
    ],
    [
      'a timespan in weeks',
      [corr('    type: event_count\n    rules: [hit]\n    timespan: 1w\n    condition:\n        gte: 1\n')],
      'INVALID_FIELD',
      /timespan/,
    ],
    [
      'a missing timespan',
      [corr('    type: event_count\n    rules: [hit]\n    condition:\n        gte: 1\n')],
      'MISSING_FIELD',
      /timespan/,
    ],
    [
      'event_count without a condition',
      [corr('    type: event_count\n    rules: [hit]\n    timespan: 1m\n')],
      'MISSING_FIELD',
      /condition/,
    ],
    [
      'value_count without a field',
      [corr('    type: value_count\n    rules: [hit]\n    timespan: 1m\n    condition:\n        gte: 1\n')],
      'MISSING_FIELD',
      /field/,
    ],
    [
      'a non-numeric threshold',
      [
        corr(
          '    type: event_count\n    rules: [hit]\n    timespan: 1m\n    condition:\n        gte: many\n',
        ),
      ],
      'INVALID_FIELD',
      /gte/,
    ],
    [
      'an unknown condition key',
      [corr('    type: event_count\n    rules: [hit]\n    timespan: 1m\n    condition:\n        above: 1\n')],
      'INVALID_FIELD',
      /above/,
    ],
    [
      'a percentile above 100',
      [
        corr(
          '    type: value_percentile\n    rules: [hit]\n    timespan: 1m\n    condition:\n        field: x\n        percentile: 101\n        gt: 1\n',
        ),
      ],
      'INVALID_FIELD',
      /percentile/,
    ],
    [
      'an alias naming a rule not in rules',
      [
        corr(
          '    type: temporal\n    rules: [hit]\n    group-by: [ip]\n    timespan: 1m\n    aliases:\n        ip:\n            other: source.ip\n',
        ),
        base('other'),
      ],
      'INVALID_FIELD',
      /alias/,
    ],
  ])('reports %s', (_name, docs, code, message) => {
    const engine = engineOf([...docs, base('hit')]);
    expect(engine.errors).toEqual([expect.objectContaining({ ruleId: 'bad', code, file: 'corr.yml' })]);
    expect(engine.errors[0]?.message).toMatch(message);
    expect(engine.rules).toEqual([]);
  });

  it('quarantines a reference cycle and everything that depends on it, and keeps the others running', () => {
    const c = (id: string, ref: string): string =>
      corr(
        `    type: event_count\n    rules: [${ref}]\n    timespan: 1m\n    condition:\n        gte: 1\n`,
        id,
      );
    const engine = engineOf([c('a', 'b'), c('b', 'a'), c('top', 'a'), c('fine', 'hit'), base('hit')]);
    expect(engine.errors.map((e) => e.ruleId).sort()).toEqual(['a', 'b', 'top']);
    expect(engine.errors.find((e) => e.ruleId === 'a')?.message).toMatch(/cycle: a -> b -> a/);
    expect(engine.rules.map((r) => r.id)).toEqual(['fine']);
    expect(run(engine, [hit(0)]).map((h) => h.rule)).toEqual(['fine']);
    // A broken correlation suppresses nothing: its base rules keep alerting.
    expect(engine.emitsAlerts('a')).toBe(true);
  });
});

describe('bounded lateness', () => {
  const docs = count('        gte: 2\n');
  it('drops and counts an event older than the newest of its group minus timespan and lateness', () => {
    const engine = engineOf(docs);
    const hits = run(engine, [hit(200), hit(100)]);
    expect(hits).toEqual([]);
    expect(engine.stats().rules['count']?.lateDropped).toBe(1);
  });

  it('accepts an event within the allowed lateness and evaluates the window it completes', () => {
    const engine = engineOf(docs, { allowedLatenessMs: 120_000 });
    // 100 and 130 form a window; 130 arrives after 200 has been seen.
    const hits = run(engine, [hit(100), hit(200), hit(130)]);
    expect(hits.map((h) => [h.at, h.start, h.end])).toEqual([[2, 100, 130]]);
    expect(engine.stats().rules['count']?.lateDropped).toBe(0);
  });

  it('fires a window that a late event completes for a later event', () => {
    const engine = engineOf(count('        gte: 3\n'), { allowedLatenessMs: 60_000 });
    const hits = run(engine, [hit(100), hit(150), hit(120)]);
    expect(hits.map((h) => [h.at, h.start, h.end])).toEqual([[2, 100, 150]]);
  });
});

describe('memory bounds', () => {
  it('evicts the least recently updated group past maxGroupsPerRule and counts it', () => {
    const engine = engineOf(count('        gte: 2\n'), { maxGroupsPerRule: 2 });
    const hits = run(engine, [hit(0, 'a'), hit(1, 'b'), hit(2, 'a'), hit(3, 'c'), hit(4, 'b'), hit(5, 'a')]);
    // 'a' fired at 2; 'c' evicts 'b', 'b' evicts 'a', 'a' evicts 'c': each returning group starts over.
    expect(hits.map((h) => [h.at, h.group])).toEqual([[2, { user: 'a' }]]);
    expect(engine.stats().rules['count']).toMatchObject({ groupEvictions: 3, groups: 2 });
  });

  it('expires groups that went quiet once the rule has moved past their windows', () => {
    const engine = engineOf(count('        gte: 2\n'));
    run(engine, [hit(0, 'a'), hit(1, 'b'), hit(1000, 'c')]);
    expect(engine.stats().rules['count']).toMatchObject({ groupsExpired: 2, groups: 1 });
  });

  it('caps the events kept per group and counts evictions', () => {
    const engine = engineOf(count('        gte: 100\n'), { maxEventsPerGroup: 10 });
    run(
      engine,
      Array.from({ length: 15 }, (_, i) => hit(i)),
    );
    expect(engine.stats().rules['count']?.entryEvictions).toBe(5);
  });

  it('prunes events that left every window a late event could still reach', () => {
    const engine = engineOf(count('        gte: 1000\n'));
    run(
      engine,
      Array.from({ length: 1000 }, (_, i) => hit(i)),
    );
    const stored = engine.snapshot().rules[0]?.groups[0]?.entries.length ?? 0;
    expect(stored).toBeLessThanOrEqual(121); // 2 × 60 s at one event per second
  });
});

describe('snapshot and restore', () => {
  const docs = [
    `title: seq\nid: seq\ncorrelation:\n    type: temporal_ordered\n    rules: [burst, hit]\n    group-by: [user]\n    timespan: 10m\n`,
    `title: burst\nid: burst-id\nname: burst\ncorrelation:\n    type: value_count\n    rules: [hit]\n    group-by: [user]\n    timespan: 3m\n    condition:\n        field: host\n        gte: 3\n`,
    base('hit'),
  ];
  const opts: CorrelationOptions = { allowedLatenessMs: 30_000, maxGroupsPerRule: 4 };
  // Three busy users, a one-off user every tenth event (forcing evictions under the cap of 4), and every
  // fifth event 40 s late (within the allowed lateness).
  const events: Ev[] = Array.from({ length: 120 }, (_, i) =>
    hit(i * 7 - (i % 5 === 0 ? 40 : 0), i % 10 === 9 ? `x${i}` : `u${i % 3}`, { host: `h${i % 5}` }),
  );

  it.each([1, 17, 40, 77, 119])(
    'restoring a JSON round trip after %i events gives the same later hits as an uninterrupted run',
    (split) => {
      const uninterrupted = run(engineOf(docs, opts), events);
      expect(new Set(uninterrupted.map((h) => h.rule))).toEqual(new Set(['burst-id', 'seq']));
      const stats = engineOfStats(docs, opts, events).rules;
      expect(stats['burst-id']?.groupEvictions).toBeGreaterThan(0);
      expect(stats['burst-id']?.lateDropped).toBe(0);
      const { correlations, all } = loadAll(...docs);
      const first = new CorrelationEngine(correlations, all, opts);
      const before = run(first, events.slice(0, split));
      const state: unknown = JSON.parse(JSON.stringify(first.snapshot()));
      const second = CorrelationEngine.restore(correlations, all, state, opts);
      const after = run(second, events.slice(split), split);
      expect([...before, ...after]).toEqual(uninterrupted);
      expect(second.stats()).toEqual(engineOfStats(docs, opts, events));
    },
  );

  it('discards the state of a correlation whose content changed', () => {
    const { correlations, all } = loadAll(...count('        gte: 2\n'));
    const first = new CorrelationEngine(correlations, all);
    run(first, [hit(0)]);
    const changed = loadAll(...count('        gte: 2\n', '2m'));
    const second = CorrelationEngine.restore(changed.correlations, changed.all, first.snapshot());
    expect(run(second, [hit(1)])).toEqual([]);
  });

  it('starts empty from a state that is not a correlation snapshot', () => {
    const { correlations, all } = loadAll(...count('        gte: 1\n'));
    const engine = CorrelationEngine.restore(correlations, all, { format: 'other' });
    expect(run(engine, [hit(0)]).length).toBe(1);
  });
});

function engineOfStats(
  docs: string[],
  opts: CorrelationOptions,
  events: Ev[],
): ReturnType<CorrelationEngine['stats']> {
  const e = engineOf(docs, opts);
  run(e, events);
  return e.stats();
}

describe('routing keys for replicas', () => {
  it('gives the same partition key for a hit group as routeKeys gives for the events of that group', () => {
    const engine = engineOf(count('        gte: 2\n'));
    const event = { user: 'alice' };
    const [h] = [...engine.observe(event, 0, ['hit-id'], 'a'), ...engine.observe(event, 1, ['hit-id'], 'b')];
    expect(h).toBeDefined();
    expect(engine.routeKeys(event, ['hit-id'])).toEqual([engine.partitionKey('count', h!.group)]);
    expect(engine.partitionKey('count', { user: 'alice' })).toBe('["count","alice"]');
  });

  it('uses each rule’s alias field when routing', () => {
    const docs = [
      `title: j\nid: j\ncorrelation:\n    type: temporal\n    rules: [a, b]\n    group-by: [ip]\n    timespan: 1m\n    aliases:\n        ip:\n            a: source.ip\n            b: destination.ip\n`,
      base('a'),
      base('b'),
    ];
    const engine = engineOf(docs);
    const ka = engine.routeKeys({ source: { ip: '10.0.0.1' } }, ['a-id']);
    const kb = engine.routeKeys({ destination: { ip: '10.0.0.1' } }, ['b-id']);
    expect(ka).toEqual(kb);
  });

  it('ignores events that match no referenced rule', () => {
    const engine = engineOf(count('        gte: 1\n'));
    expect(engine.observe({ user: 'x' }, 0, ['other'], 'r')).toEqual([]);
    expect(engine.isReferenced('hit-id')).toBe(true);
    expect(engine.isReferenced('other')).toBe(false);
  });
});

describe('event time', () => {
  it('ignores and counts an event whose time is not a finite number', () => {
    const engine = engineOf(count('        gte: 1\n'));
    expect(engine.observe({ user: 'x' }, Number.NaN, ['hit-id'], 'r')).toEqual([]);
    expect(engine.stats().invalidTime).toBe(1);
  });
});

describe('value_count over several fields', () => {
  it('counts distinct combinations of the fields', () => {
    const docs = [
      `title: v\nid: v\ncorrelation:\n    type: value_count\n    rules: [hit]\n    group-by: [user]\n    timespan: 1m\n    condition:\n        field: [host, port]\n        gte: 3\n`,
      base('hit'),
    ];
    const hits = run(engineOf(docs), [
      hit(0, 'u', { host: 'a', port: 22 }),
      hit(1, 'u', { host: 'a', port: 22 }),
      hit(2, 'u', { host: 'a', port: 23 }),
      hit(3, 'u', { host: 'b', port: 22 }),
    ]);
    expect(hits.map((h) => [h.at, h.value])).toEqual([[3, 3]]);
  });
});
