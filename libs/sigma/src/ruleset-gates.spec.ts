import { type LogsourcePredicate, compileRules, loadPipelineFromText, loadRulesFromText } from './index';

/**
 * The index's gates must only ever save work, never change a verdict: a rule is skipped when its second
 * requirement holds on no value, and a logsource predicate is not called on an event without its literals.
 */
const RULE = `title: sqli
id: 22222222-2222-4222-8222-222222222222
logsource: { category: webserver }
detection:
  selection: { cs-method: GET }
  keywords: ['UNION SELECT', 'information_schema.tables', '=select ']
  condition: selection and keywords
`;

describe('second requirement gate', () => {
  const set = compileRules(loadRulesFromText(RULE, 'inline.yml').rules);
  it.each([
    ['common literal only: not evaluated', { 'cs-method': 'GET', q: 'id=1' }, 0, 0],
    ['rare literal only: not evaluated', { 'cs-method': 'POST', q: 'UNION SELECT 1' }, 0, 0],
    ['both: evaluated and matched', { 'cs-method': 'get', q: 'x union select 1' }, 1, 1],
    ['both, keyword in another field', { 'cs-method': 'GET', ua: 'a=SELECT b' }, 1, 1],
  ])('%s', (_n, event, evaluations, matched) => {
    set.resetStats();
    expect(set.match(event)).toHaveLength(matched);
    expect(set.stats().evaluations).toBe(evaluations);
  });
});

describe('logsource predicate gate', () => {
  let calls = 0;
  const pred: LogsourcePredicate = Object.assign(
    (ev: Record<string, unknown>) => {
      calls++;
      return (ev['dataset'] as string | undefined)?.toLowerCase() === 'nginx.access';
    },
    { req: [{ k: 'eq' as const, path: 'dataset', text: 'nginx.access' }] },
  );
  const set = compileRules(loadRulesFromText(RULE, 'inline.yml').rules, { logsource: () => pred });
  it.each([
    ['no literal of the predicate: not called, no match', { 'cs-method': 'GET', q: 'UNION SELECT' }, 0, 0],
    [
      'literal present: called, matches',
      { dataset: 'NGINX.access', 'cs-method': 'GET', q: 'UNION SELECT' },
      1,
      1,
    ],
  ])('%s', (_n, event, wantCalls, matched) => {
    calls = 0;
    expect(set.match(event)).toHaveLength(matched);
    expect(calls).toBe(wantCalls);
  });
});

describe('logsource predicate second gate', () => {
  let calls = 0;
  const pred: LogsourcePredicate = Object.assign(
    (ev: Record<string, unknown>) => {
      calls++;
      return ev['module'] === 'syslog' && ev['program'] === 'nginx';
    },
    {
      req: [{ k: 'eq' as const, path: 'module', text: 'syslog' }],
      req2: [{ k: 'eq' as const, path: 'program', text: 'nginx' }],
    },
  );
  const set = compileRules(loadRulesFromText(RULE, 'inline.yml').rules, { logsource: () => pred });
  const hit = { 'cs-method': 'GET', q: 'UNION SELECT' };
  it.each([
    ['first literal only: not called', { module: 'syslog', program: 'sshd', ...hit }, 0, 0],
    ['second literal only: not called', { program: 'nginx', ...hit }, 0, 0],
    ['both: called, matches', { module: 'syslog', program: 'nginx', ...hit }, 1, 1],
  ])('%s', (_n, event, wantCalls, matched) => {
    calls = 0;
    expect(set.match(event)).toHaveLength(matched);
    expect(calls).toBe(wantCalls);
  });
});

/**
 * A set reuses one match context for every event: nothing cached for one event (field values, lowered
 * strings, keyword hits held back during the walk) may leak into the next.
 */
describe('per-event state reused across events', () => {
  const KW = `title: kw
id: 33333333-3333-4333-8333-333333333333
logsource: { product: linux }
detection:
  keywords: ['evil-token']
  condition: keywords
`;
  const FIELD = `title: field
id: 44444444-4444-4444-8444-444444444444
logsource: { product: linux }
detection:
  selection: { CommandLine|contains: 'a-rather-long-command-line-literal' }
  condition: selection
`;
  const set = compileRules(loadRulesFromText(`${KW}---\n${FIELD}`, 'inline.yml').rules);
  const nested = (depth: number, leaf: unknown): Record<string, unknown> => {
    let v: unknown = leaf;
    for (let i = 0; i < depth; i++) v = { k: v };
    return v as Record<string, unknown>;
  };
  it.each([
    ['keyword hit', { msg: 'has EVIL-TOKEN inside' }, ['kw']],
    ['next event without it', { msg: 'clean' }, []],
    [
      'field value of the previous event not reused',
      { CommandLine: 'x A-RATHER-LONG-COMMAND-LINE-LITERAL' },
      ['field'],
    ],
    ['same field, other value', { CommandLine: 'x a-rather-short-one' }, []],
    ['keyword in an array', { tags: ['a', { b: 'evil-token' }] }, ['kw']],
    // allStrings stops below depth 64: the scan riding along the walk keeps that limit.
    ['keyword at depth 64', nested(64, 'evil-token'), ['kw']],
    ['keyword at depth 65', nested(65, 'evil-token'), []],
  ])('%s', (_n, event, titles) => {
    expect(set.match(event).map((m) => m.rule.title)).toEqual(titles);
  });
});

/**
 * Routing first: a predicate that declares its reads is asked once per distinct value of its categorical
 * fields (the memo), and one that depends on a wide field (a regex on the message) per event; verdicts
 * stay those of the predicate.
 */
describe('route dispatch memo', () => {
  const PIPE = `name: t
logsources:
  - name: web
    logsource: { category: webserver }
    events: { module: syslog, program: nginx }
  - name: raw
    logsource: { product: linux, service: auditd }
    events:
      raw: { module: syslog, message|re: '^type=[A-Z]+ ' }
      condition: raw
`;
  const AUDIT = `title: audit
id: 55555555-5555-4555-8555-555555555555
logsource: { product: linux, service: auditd }
detection:
  keywords: ['evil-token']
  condition: keywords
`;
  const { pipeline } = loadPipelineFromText(PIPE, 'p.yml');
  const counted = new Map<LogsourcePredicate, { partial: number; full: number }>();
  const set = compileRules(loadRulesFromText(`${RULE}---\n${AUDIT}`, 'inline.yml').rules, {
    logsource: (ls) => {
      const p = pipeline?.logsource(ls);
      if (!p) return null;
      const n = { partial: 0, full: 0 };
      const part = p.partial;
      const c: LogsourcePredicate = Object.assign((ev: Record<string, unknown>) => (n.full++, p(ev)), {
        req: p.req,
        req2: p.req2,
        reads: p.reads,
        partial: part && ((ev: Record<string, unknown>) => (n.partial++, part(ev))),
      });
      counted.set(c, n);
      return c;
    },
  });
  const [web, raw] = [...counted.values()] as [
    { partial: number; full: number },
    { partial: number; full: number },
  ];
  const sqli = { 'cs-method': 'GET', q: 'UNION SELECT' };
  it.each([
    ['web event', { module: 'syslog', program: 'nginx', message: 'a', ...sqli }, ['sqli']],
    [
      'same key values, other content',
      { module: 'syslog', program: 'nginx', message: 'b', ...sqli },
      ['sqli'],
    ],
    ['other program', { module: 'syslog', program: 'sshd', message: 'c', ...sqli }, []],
    ['auditd line', { module: 'syslog', program: 'x', message: 'type=SYSCALL evil-token' }, ['kw-audit']],
    ['same keys, not auditd', { module: 'syslog', program: 'x', message: 'evil-token' }, []],
  ])('%s', (_n, event, titles) => {
    expect(set.match(event).map((m) => (m.rule.title === 'audit' ? 'kw-audit' : m.rule.title))).toEqual(
      titles,
    );
  });
  it('asked the categorical predicate once per distinct key values, the regex one per event', () => {
    // Three distinct (module, program, message present) combinations.
    expect(web.partial).toBe(3);
    expect(web.full).toBe(0);
    expect(raw.partial).toBe(3);
    // The regex predicate is asked only where its literal `type=` occurs at the start of the message.
    expect(raw.full).toBe(1);
  });
});

/**
 * The keyword walk enumerates plain objects without checking each key is their own: a polluted
 * Object.prototype, or an event of another prototype, must still never be searched for inherited values.
 * Numbers and booleans are scanned only when a keyword could occur in their text.
 */
describe('keyword walk: own values only, scalars when they can hold a keyword', () => {
  const rules = (keywords: string[]) =>
    compileRules(
      loadRulesFromText(
        `title: kw
id: 66666666-6666-4666-8666-666666666666
logsource: { product: linux }
detection:
  keywords: ${JSON.stringify(keywords)}
  condition: keywords
`,
        'inline.yml',
      ).rules,
    );

  it('does not see an enumerable property of a polluted Object.prototype', () => {
    const set = rules(['evil-token']);
    const proto = Object.prototype as Record<string, unknown>;
    Object.defineProperty(proto, 'injected', { value: 'evil-token', enumerable: true, configurable: true });
    try {
      expect(set.match({ msg: 'clean', nested: { a: 'b' } })).toEqual([]);
      expect(set.match({ msg: 'an evil-token here' })).toHaveLength(1);
    } finally {
      delete proto['injected'];
    }
  });

  it('does not see inherited values of an event with another prototype, and sees null-prototype ones', () => {
    const set = rules(['evil-token']);
    const inherited = Object.create({ parent: 'evil-token' }) as Record<string, unknown>;
    inherited['msg'] = 'clean';
    expect(set.match(inherited)).toEqual([]);
    const bare = Object.create(null) as Record<string, unknown>;
    bare['msg'] = { inner: 'EVIL-TOKEN' };
    expect(set.match(bare)).toHaveLength(1);
  });

  it.each([
    ['a number holding a numeric keyword', ['1008'], { pid: 1008 }, 1],
    ['a number with an exponent', ['e+21'], { n: 1e21 }, 1],
    ['a boolean', ['true'], { ok: true }, 1],
    ['a piece of a boolean', ['als'], { ok: false }, 1],
    ['a number, keyword of letters', ['sshd'], { pid: 1008 }, 0],
    ['a number next to a string that holds the keyword', ['sshd'], { pid: 1008, p: 'sshd' }, 1],
  ])('%s', (_n, keywords, event, matched) => {
    expect(rules(keywords).match(event)).toHaveLength(matched);
  });
});

/** Arrays of scalars key the routing memo element by element: different arrays keep different verdicts. */
describe('route dispatch memo with array values', () => {
  const PIPE = `name: t
logsources:
  - name: net
    logsource: { category: firewall }
    events: { category: network }
`;
  const FW = `title: fw
id: 77777777-7777-4777-8777-777777777777
logsource: { category: firewall }
detection:
  selection: { action: deny }
  condition: selection
`;
  const { pipeline } = loadPipelineFromText(PIPE, 'p.yml');
  const set = compileRules(loadRulesFromText(FW, 'inline.yml').rules, {
    logsource: (ls) => pipeline?.logsource(ls) ?? null,
  });
  it.each([
    ['one element that selects', ['network'], 1],
    ['the same again', ['network'], 1],
    ['two elements, one selects', ['host', 'network'], 1],
    ['no element selects', ['host'], 0],
    ['an element that is a prefix of the selecting one', ['net'], 0],
    ['empty', [], 0],
    ['a null element', [null], 0],
    [
      'a long array (past the memo) still routes',
      [...Array.from({ length: 100 }, (_, i) => `c${i}`), 'network'],
      1,
    ],
    ['a plain value', 'network', 1],
  ])('%s', (_n, category, matched) => {
    expect(set.match({ category, action: 'deny' })).toHaveLength(matched);
  });
});

/** A second requirement with a one-character keyword is no gate (it holds nearly everywhere): same verdicts. */
describe('short keyword second requirement', () => {
  const set = compileRules(
    loadRulesFromText(
      `title: copy
id: 88888888-8888-4888-8888-888888888888
logsource: { product: linux }
detection:
  tools: ['scp ', 'rsync ']
  remote: [':', '@']
  condition: tools and remote
`,
      'inline.yml',
    ).rules,
  );
  it.each([
    ['tool and remote', { m: 'scp a host:/b' }, 1],
    ['tool and user@', { m: 'RSYNC x', u: 'me@host' }, 1],
    ['tool only', { m: 'scp a b' }, 0],
    ['remote only', { m: 'ts 12:00' }, 0],
  ])('%s', (_n, event, matched) => {
    expect(set.match(event)).toHaveLength(matched);
  });
});

/**
 * A predicate whose categorical part is decided at a memo leaf (the program is not auditd) but whose regex
 * branch stays open is asked per event only when that branch's literal occurs: the requirement of the open
 * (wide) part, not the whole predicate's, whose `module: syslog` atom holds on every syslog line.
 */
describe('route dispatch: requirement of the undecided part', () => {
  const PIPE = `name: t
logsources:
  - name: auditd
    logsource: { product: linux, service: auditd }
    events:
      program: { module: syslog, program: [audit, auditd] }
      raw: { module: syslog, message|re: '^type=[A-Z_]+ msg=audit\\(' }
      condition: 1 of them
`;
  const AUDIT = `title: audit
id: 99999999-9999-4999-8999-999999999999
logsource: { product: linux, service: auditd }
detection:
  keywords: ['evil-token']
  condition: keywords
`;
  const { pipeline } = loadPipelineFromText(PIPE, 'p.yml');
  let full = 0;
  const set = compileRules(loadRulesFromText(AUDIT, 'inline.yml').rules, {
    logsource: (ls) => {
      const p = pipeline?.logsource(ls);
      if (!p) return null;
      return Object.assign((ev: Record<string, unknown>) => (full++, p(ev)), {
        req: p.req,
        req2: p.req2,
        reads: p.reads,
        partial: p.partial,
        wreq: p.wreq,
      });
    },
  });
  it.each([
    ['sshd line', { module: 'syslog', program: 'sshd', message: 'Failed password evil-token' }, 0, 0],
    [
      'auditd program, decided by the memo',
      { module: 'syslog', program: 'auditd', message: 'evil-token' },
      0,
      1,
    ],
    [
      'raw auditd record from another program',
      { module: 'syslog', program: 'rsyslogd', message: 'type=SYSCALL msg=audit(1:2): evil-token' },
      1,
      1,
    ],
    [
      'the literal but not the regex',
      { module: 'syslog', program: 'rsyslogd', message: 'x type=SYSCALL msg=audit(1:2): evil-token' },
      1,
      0,
    ],
    ['no message', { module: 'syslog', program: 'sshd', m: 'evil-token' }, 0, 0],
  ])('%s', (_n, event, calls, matched) => {
    full = 0;
    expect(set.match(event)).toHaveLength(matched);
    expect(full).toBe(calls);
  });
});

/**
 * The walks look event keys up in null-prototype edge tables: a key that names an Object.prototype member
 * must find nothing there, and one that is an indexed path must still be followed.
 */
describe('edge tables: keys named like Object.prototype members', () => {
  const R = `title: proto
id: 77777777-7777-4777-8777-777777777777
logsource: { category: webserver }
detection:
  selection: { constructor.name: evil, toString: bad }
  condition: selection
`;
  const set = compileRules(loadRulesFromText(R, 'inline.yml').rules);
  it.each([
    ['nested and flat', JSON.parse('{"constructor":{"name":"EVIL"},"toString":"bad"}'), 1],
    ['dotted', JSON.parse('{"constructor.name":"evil","toString":"BAD"}'), 1],
    ['other members only', JSON.parse('{"__proto__":{"name":"evil"},"valueOf":"bad","hasOwnProperty":1}'), 0],
    ['plain event', { message: 'constructor toString' }, 0],
  ])('%s', (_n, event: Record<string, unknown>, n) => {
    expect(set.match(event)).toHaveLength(n);
  });
});

describe('edge tables: routed, keys named like Object.prototype members', () => {
  const { pipeline } = loadPipelineFromText(
    `name: t
logsources:
  - name: web
    logsource: { category: webserver }
    events: { module: syslog, program: nginx }
`,
    'p.yml',
  );
  const set = compileRules(loadRulesFromText(RULE, 'inline.yml').rules, {
    logsource: (ls) => pipeline?.logsource(ls) ?? null,
  });
  it.each([
    ['members at the top', '{"constructor":1,"toString":{"a":1},"module":"syslog","program":"nginx"}', 1],
    ['members nested', '{"module":{"valueOf":"syslog"},"program":"nginx"}', 0],
  ])('%s', (_n, text, n) => {
    const event = { ...(JSON.parse(text) as Record<string, unknown>), 'cs-method': 'GET', q: 'UNION SELECT' };
    expect(set.match(event)).toHaveLength(n);
  });
});

describe('exact-value lookups skip values longer than every key', () => {
  it('lowercasing never shortens a code point (what the skip relies on)', () => {
    let shorter = 0;
    for (let c = 0; c < 0x110000; c++) {
      if (c >= 0xd800 && c < 0xe000) continue;
      const s = String.fromCodePoint(c);
      if (s.toLowerCase().length < s.length) shorter++;
    }
    expect(shorter).toBe(0);
  });
  const R = `title: eq
id: 88888888-8888-4888-8888-888888888888
logsource: { category: webserver }
detection:
  selection: { Image: 'C:\\Windows\\x.exe' }
  condition: selection
`;
  const set = compileRules(loadRulesFromText(R, 'inline.yml').rules);
  it.each([
    ['same length, other case', 'c:\\WINDOWS\\X.EXE', 1],
    ['longer', 'C:\\Windows\\x.exe ', 0],
    ['shorter', 'C:\\Windows\\x.ex', 0],
  ])('%s', (_n, image, n) => {
    expect(set.match({ Image: image })).toHaveLength(n);
  });
});
