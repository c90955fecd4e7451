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
