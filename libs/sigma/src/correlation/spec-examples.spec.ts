import { type Ev, base, engineOf, run } from './fixtures.test';

/**
 * The examples of the Sigma correlation specification (2.0 "Correlation Types", "Field Name Aliases",
 * "Examples"; 2.1 value_sum/value_avg/value_percentile), each as the spec writes the rule, fed with events
 * that should and should not fire.
 */

const failedLoginsThenSuccess = [
  `title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
`,
  `title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
`,
  `title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
`,
  `title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
`,
];
const FAILED = '53ba33fd-3a50-4468-a5ef-c583635cfa92';
const SUCCESS = '4d0a2c83-c62c-4ed4-b475-c7e23a9269b8';
const OUTER = 'b180ead8-d58f-40b2-ae54-c8940995b9b6';
const INNER = 'a8418a5a-5fc4-46b5-b23b-6c73beb19d41';

const failures = (user: string, from: number, n: number, step = 10): Ev[] =>
  Array.from({ length: n }, (_, i): Ev => [from + i * step, [FAILED], { User: user, EventID: 4625 }]);

describe('spec example: multiple failed logins followed by a successful login (chained temporal_ordered)', () => {
  it('fires the outer correlation once the success follows ten failures of the same user', () => {
    const engine = engineOf(failedLoginsThenSuccess);
    expect(engine.errors).toEqual([]);
    const hits = run(engine, [
      ...failures('alice', 0, 10),
      [200, [SUCCESS], { User: 'alice', EventID: 4624 }],
    ]);
    expect(hits.map((h) => [h.at, h.rule, h.group, h.alert])).toEqual([
      [9, INNER, { User: 'alice' }, false],
      [10, OUTER, { User: 'alice' }, true],
    ]);
    expect(hits[1]?.refs).toEqual([...failures('alice', 0, 10).map((_, i) => `e${i}`), 'e10']);
  });

  it.each<[string, Ev[]]>([
    [
      'the success comes before the failures',
      [[0, [SUCCESS], { User: 'alice' }], ...failures('alice', 10, 10)],
    ],
    [
      'only nine failures precede the success',
      [...failures('alice', 0, 9), [100, [SUCCESS], { User: 'alice' }]],
    ],
    ['the success is by another user', [...failures('alice', 0, 10), [100, [SUCCESS], { User: 'bob' }]]],
    [
      'the success comes more than 10 minutes after the failures',
      [...failures('alice', 0, 10), [90 + 601, [SUCCESS], { User: 'alice' }]],
    ],
  ])('does not fire the outer correlation when %s', (_name, events) => {
    const hits = run(engineOf(failedLoginsThenSuccess), events);
    expect(hits.filter((h) => h.rule === OUTER)).toEqual([]);
  });

  it('suppresses the base rules as alerts, since generate defaults to false', () => {
    const engine = engineOf(failedLoginsThenSuccess);
    expect([engine.emitsAlerts(FAILED), engine.emitsAlerts(SUCCESS), engine.emitsAlerts(INNER)]).toEqual([
      false,
      false,
      false,
    ]);
    expect(engine.emitsAlerts(OUTER)).toBe(true);
  });
});

describe('spec example: event_count, 100 failed logins to one host in an hour', () => {
  const rule = `title: Many failed logins
id: 0e95725d-7320-415d-80f7-004da920fc11
correlation:
    type: event_count
    rules:
        - 5638f7c0-ac70-491d-8465-2a65075e0d86
    group-by:
        - ComputerName
    timespan: 1h
    condition:
        gte: 100
`;
  const docs = [rule, base('failed', '5638f7c0-ac70-491d-8465-2a65075e0d86')];
  const ev = (t: number, host: string): Ev => [
    t,
    ['5638f7c0-ac70-491d-8465-2a65075e0d86'],
    { ComputerName: host },
  ];

  it('fires on the 100th failure within the hour and not before', () => {
    const events = Array.from({ length: 100 }, (_, i) => ev(i * 30, 'srv1'));
    const hits = run(engineOf(docs), events);
    expect(hits.map((h) => [h.at, h.group, h.value, h.start, h.end])).toEqual([
      [99, { ComputerName: 'srv1' }, 100, 0, 2970],
    ]);
  });

  it('counts each host separately', () => {
    const events = Array.from({ length: 100 }, (_, i) => ev(i * 30, i % 2 === 0 ? 'srv1' : 'srv2'));
    expect(run(engineOf(docs), events)).toEqual([]);
  });

  it('does not fire when the 100 failures are spread over more than an hour', () => {
    const events = Array.from({ length: 100 }, (_, i) => ev(i * 40, 'srv1'));
    expect(run(engineOf(docs), events)).toEqual([]);
  });
});

describe('spec example: value_count, many distinct users per source and destination in a day', () => {
  const docs = [
    `title: Failed login
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
    type: value_count
    rules:
        - failed
    group-by:
        - ComputerName
        - WorkstationName
    timespan: 1d
    condition:
        field: User
        gte: 100
`,
    base('failed'),
  ];

  it('fires when the 100th distinct user fails against one host pair, repeated users not counted', () => {
    const events: Ev[] = [];
    for (let i = 0; i < 100; i++) {
      events.push([i * 60, ['failed-id'], { ComputerName: 'dc1', WorkstationName: 'ws7', User: `u${i}` }]);
      events.push([i * 60 + 1, ['failed-id'], { ComputerName: 'dc1', WorkstationName: 'ws7', User: 'u0' }]);
    }
    const hits = run(engineOf(docs), events);
    expect(hits.map((h) => [h.at, h.group, h.value])).toEqual([
      [198, { ComputerName: 'dc1', WorkstationName: 'ws7' }, 100],
    ]);
  });
});

describe('brief example: one user logging on to many distinct hosts (value_count)', () => {
  const docs = [
    `title: User on many hosts
id: many-hosts
correlation:
    type: value_count
    rules: [logon]
    group-by: [user.name]
    timespan: 15m
    condition:
        field: host.name
        gt: 3
`,
    base('logon'),
  ];
  it('fires on the fourth distinct host of one user, reading nested ECS fields', () => {
    const ev = (t: number, user: string, host: string): Ev => [
      t,
      ['logon-id'],
      { user: { name: user }, host: { name: host } },
    ];
    const hits = run(engineOf(docs), [
      ev(0, 'alice', 'h1'),
      ev(10, 'alice', 'h2'),
      ev(20, 'alice', 'h2'),
      ev(30, 'bob', 'h3'),
      ev(40, 'alice', 'h3'),
      ev(50, 'alice', 'h4'),
    ]);
    expect(hits.map((h) => [h.at, h.group, h.value])).toEqual([[5, { 'user.name': 'alice' }, 4]]);
  });
});

describe('spec example: temporal, three reconnaissance commands in any order within 5 minutes', () => {
  const docs = [
    `title: Recon
id: recon
correlation:
    type: temporal
    rules:
        - recon_cmd_a
        - recon_cmd_b
        - recon_cmd_c
    group-by:
        - ComputerName
        - User
    timespan: 5m
`,
    base('recon_cmd_a'),
    base('recon_cmd_b'),
    base('recon_cmd_c'),
  ];
  const ev = (t: number, cmd: string, user = 'alice', host = 'ws1'): Ev => [
    t,
    [`recon_cmd_${cmd}-id`],
    { ComputerName: host, User: user },
  ];
  it.each<[string, Ev[], number[]]>([
    ['all three in order c, a, b', [ev(0, 'c'), ev(60, 'a'), ev(120, 'b')], [2]],
    ['a repeated command does not replace a missing one', [ev(0, 'a'), ev(10, 'a'), ev(20, 'b')], []],
    ['the three by different users', [ev(0, 'a'), ev(10, 'b', 'bob'), ev(20, 'c')], []],
    ['the three on different hosts', [ev(0, 'a'), ev(10, 'b', 'alice', 'ws2'), ev(20, 'c')], []],
    ['the three spread over 6 minutes', [ev(0, 'a'), ev(200, 'b'), ev(360, 'c')], []],
    [
      'the three at exactly 5 minutes apart (window bounds inclusive)',
      [ev(0, 'a'), ev(200, 'b'), ev(300, 'c')],
      [2],
    ],
  ])('%s', (_name, events, firedAt) => {
    expect(run(engineOf(docs), events).map((h) => h.at)).toEqual(firedAt);
  });
});

describe('spec example: aliases join source and destination addresses across two rules', () => {
  const docs = [
    `title: Error then connection
id: alias-corr
correlation:
    type: temporal
    rules:
        - internal_error
        - new_network_connection
    group-by:
        - internal_ip
        - remote_ip
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
`,
    base('internal_error'),
    base('new_network_connection'),
  ];
  const err = (t: number, src: string, dst: string): Ev => [
    t,
    ['internal_error-id'],
    { source: { ip: src }, destination: { ip: dst }, http: { response: { status_code: 500 } } },
  ];
  const conn = (t: number, src: string, dst: string): Ev => [
    t,
    ['new_network_connection-id'],
    { source: { ip: src }, destination: { ip: dst } },
  ];

  it('fires when the server that answered 500 connects back to the client', () => {
    const hits = run(engineOf(docs), [err(0, '203.0.113.9', '10.0.0.5'), conn(4, '10.0.0.5', '203.0.113.9')]);
    expect(hits.map((h) => h.group)).toEqual([{ internal_ip: '10.0.0.5', remote_ip: '203.0.113.9' }]);
  });

  it.each<[string, Ev[]]>([
    [
      'the connection goes the other way',
      [err(0, '203.0.113.9', '10.0.0.5'), conn(4, '203.0.113.9', '10.0.0.5')],
    ],
    [
      'the connection is to another address',
      [err(0, '203.0.113.9', '10.0.0.5'), conn(4, '10.0.0.5', '198.51.100.1')],
    ],
    [
      'the connection is 11 seconds later',
      [err(0, '203.0.113.9', '10.0.0.5'), conn(11, '10.0.0.5', '203.0.113.9')],
    ],
  ])('does not fire when %s', (_name, events) => {
    expect(run(engineOf(docs), events)).toEqual([]);
  });
});

describe('spec 2.1 examples: value_sum, value_avg, value_percentile', () => {
  const corr = (type: string, condition: string): string[] => [
    `title: ${type}\nid: ${type}\ncorrelation:\n    type: ${type}\n    rules: [traffic]\n    group-by: [SourceIP]\n    timespan: 24h\n    condition:\n${condition}`,
    base('traffic'),
  ];
  const ev = (t: number, fields: Record<string, unknown>): Ev => [
    t,
    ['traffic-id'],
    { SourceIP: '10.1.1.1', ...fields },
  ];

  it('value_sum fires when the bytes sent by one source exceed the threshold (numeric strings count)', () => {
    const docs = corr('value_sum', '        field: BytesOut\n        gt: 1000000\n');
    const hits = run(engineOf(docs), [
      ev(0, { BytesOut: 400000 }),
      ev(10, { BytesOut: 'n/a' }),
      ev(20, { BytesOut: '400000' }),
      ev(30, { BytesOut: 300000 }),
    ]);
    expect(hits.map((h) => [h.at, h.value])).toEqual([[3, 1100000]]);
  });

  it('value_avg fires when the average bytes out exceeds 500 (spec FAQ example)', () => {
    const docs = corr('value_avg', '        field: BytesOut\n        gt: 500\n');
    const hits = run(engineOf(docs), [
      ev(0, { BytesOut: 100 }),
      ev(10, { BytesOut: 800 }),
      ev(20, { BytesOut: 900 }),
    ]);
    expect(hits.map((h) => [h.at, h.value])).toEqual([[2, 600]]);
  });

  it('value_percentile with an explicit percentile compares the 95th percentile of the values', () => {
    const docs = corr(
      'value_percentile',
      '        field: Latency\n        percentile: 95\n        gte: 500\n',
    );
    const events = [10, 20, 30, 40, 50, 60, 70, 80, 90, 5000].map((l, i) => ev(i, { Latency: l }));
    const hits = run(engineOf(docs), events);
    // p95 of the ten values, linear interpolation: 90 + 0.55 * (5000 - 90) = 2790.5
    expect(hits.map((h) => h.at)).toEqual([9]);
    expect(hits[0]?.value).toBeCloseTo(2790.5, 6);
  });

  it('value_percentile without a percentile fires on a value seen in at most 1% of the window (rare process)', () => {
    const docs = [
      `title: Rare process\nid: rare\ncorrelation:\n    type: value_percentile\n    rules: [process_creation]\n    group-by: [ComputerName]\n    timespan: 24h\n    condition:\n        field: image\n        lte: 1\n`,
      base('process_creation'),
    ];
    const events: Ev[] = Array.from({ length: 150 }, (_, i): Ev => [
      i,
      ['process_creation-id'],
      { ComputerName: 'ws1', image: i % 2 === 0 ? 'C:\\Windows\\explorer.exe' : 'C:\\Windows\\svchost.exe' },
    ]);
    events.push([200, ['process_creation-id'], { ComputerName: 'ws1', image: 'C:\\Users\\Public\\x.exe' }]);
    const hits = run(engineOf(docs), events);
    expect(hits.map((h) => [h.at, h.value.toFixed(3)])).toEqual([[150, (100 / 151).toFixed(3)]]);
  });
});
