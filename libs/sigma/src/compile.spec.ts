import { type CompileOptions, SigmaError, compileRule, compileRules, loadRulesFromText } from './index';

/** Wraps a detection block (indented YAML) into a full rule document. */
function ruleYaml(detection: string, extra = ''): string {
  const body = detection
    .trim()
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n');
  return `title: test rule\nid: 11111111-1111-4111-8111-111111111111\n${extra}logsource:\n    product: test\ndetection:\n${body}\nlevel: low\n`;
}

function matches(detection: string, event: Record<string, unknown>, opts: CompileOptions = {}): boolean {
  const { rules, errors } = loadRulesFromText(ruleYaml(detection), 'inline.yml');
  expect(errors).toEqual([]);
  const rule = rules[0];
  if (!rule) throw new Error('no rule loaded');
  return compileRule(rule, opts).match(event) !== null;
}

function compileError(detection: string, opts: CompileOptions = {}): string {
  const { rules } = loadRulesFromText(ruleYaml(detection), 'inline.yml');
  try {
    compileRule(rules[0] as never, opts);
  } catch (e) {
    if (e instanceof SigmaError) return e.code;
    throw e;
  }
  return 'no error';
}

type Row = [string, string, Record<string, unknown>, boolean, CompileOptions?];

const rows: Row[] = [
  // value semantics
  ['plain values compare case-insensitively', 'sel:\n  User: root\ncondition: sel', { User: 'ROOT' }, true],
  ['plain values must match the whole field', 'sel:\n  User: root\ncondition: sel', { User: 'rooty' }, false],
  ['unicode letters fold too', 'sel:\n  city: MÜNCHEN\ncondition: sel', { city: 'münchen' }, true],
  ['accents are not stripped', 'sel:\n  city: MÜNCHEN\ncondition: sel', { city: 'munchen' }, false],
  ['star matches any run including newlines', "sel:\n  c: 'a*z'\ncondition: sel", { c: 'a\nb\nz' }, true],
  ['question mark matches exactly one character', "sel:\n  h: 'srv?'\ncondition: sel", { h: 'srv12' }, false],
  ['question mark matches one astral character', "sel:\n  h: 'x?y'\ncondition: sel", { h: 'x😀y' }, true],
  ['an escaped star is literal', "sel:\n  s: 'a\\*b'\ncondition: sel", { s: 'axb' }, false],
  [
    'a double backslash before a star keeps the star live',
    "sel:\n  p: 'C:\\\\*'\ncondition: sel",
    { p: 'C:\\x' },
    true,
  ],
  [
    'a single backslash before a letter is literal',
    "sel:\n  p: 'C:\\Win'\ncondition: sel",
    { p: 'C:\\Win' },
    true,
  ],
  ['percent and underscore are literal', "sel:\n  u: 'a_%'\ncondition: sel", { u: 'ab%' }, false],
  ['integers compare as strings', 'sel:\n  EventID: 4624\ncondition: sel', { EventID: '4624' }, true],
  ['integers are not normalised', 'sel:\n  EventID: 4624\ncondition: sel', { EventID: '04624' }, false],
  ['booleans compare as true/false', 'sel:\n  on: true\ncondition: sel', { on: 'TRUE' }, true],
  ['1 is not true', 'sel:\n  on: true\ncondition: sel', { on: 1 }, false],
  ['empty string matches only empty', "sel:\n  r: ''\ncondition: sel", { r: '' }, true],
  ['empty string does not match missing', "sel:\n  r: ''\ncondition: sel", {}, false],
  ['null matches an explicit null', 'sel:\n  p: null\ncondition: sel', { p: null }, true],
  ['null matches a missing field', 'sel:\n  p: null\ncondition: sel', {}, true],
  ['null does not match empty', 'sel:\n  p: null\ncondition: sel', { p: '' }, false],
  ['a value list is OR', 'sel:\n  port: [22, 23]\ncondition: sel', { port: 23 }, true],
  [
    'a list-valued event field matches any element',
    'sel:\n  tags: evil\ncondition: sel',
    { tags: ['good', 'EVIL'] },
    true,
  ],
  ['a map is AND', 'sel:\n  a: 1\n  b: 2\ncondition: sel', { a: 1, b: 3 }, false],
  ['a list of maps is OR', 'sel:\n  - a: 1\n  - b: 2\ncondition: sel', { b: 2 }, true],
  [
    'dotted names address nested objects',
    'sel:\n  id.orig_h: x\ncondition: sel',
    { id: { orig_h: 'x' } },
    true,
  ],
  [
    'dotted names address flat dotted keys',
    'sel:\n  id.orig_h: x\ncondition: sel',
    { 'id.orig_h': 'x' },
    true,
  ],
  [
    'plain names never resolve to prototype members',
    'sel:\n  constructor|exists: true\ncondition: sel',
    {},
    false,
  ],
  // keywords
  [
    'keywords are substrings of any value',
    "kw:\n  - 'auth failure'\ncondition: kw",
    { a: { b: 'x AUTH FAILURE y' } },
    true,
  ],
  ['keywords search numbers in string form', 'kw:\n  - 4711\ncondition: kw', { n: 124711 }, true],
  ['keywords do not search field names', "kw:\n  - 'secret'\ncondition: kw", { secret: 'x' }, false],
  [
    'keywords with all need every keyword',
    "kw:\n  '|all': [sudo, bash]\ncondition: kw",
    { m: 'sudo' },
    false,
  ],
  [
    'keywords with all may match in different fields',
    "kw:\n  '|all': [sudo, bash]\ncondition: kw",
    { a: 'sudo', b: '/bin/bash' },
    true,
  ],
  // modifiers
  [
    'contains finds the value anywhere',
    "sel:\n  c|contains: 'wget '\ncondition: sel",
    { c: 'x WGET y' },
    true,
  ],
  [
    'contains keeps inner wildcards live and ordered',
    "sel:\n  c|contains: 'user*from'\ncondition: sel",
    { c: 'from user' },
    false,
  ],
  [
    'startswith anchors at the start',
    "sel:\n  p|startswith: '/tmp/'\ncondition: sel",
    { p: '/var/tmp/x' },
    false,
  ],
  ['endswith anchors at the end', "sel:\n  p|endswith: '.sh'\ncondition: sel", { p: '/x.SH' }, true],
  [
    'contains|all needs every value',
    "sel:\n  c|contains|all: [' -c ', base64]\ncondition: sel",
    { c: 'sh -c x' },
    false,
  ],
  [
    'all with a list event field lets each value match a different element',
    'sel:\n  t|all: [a, b]\ncondition: sel',
    { t: ['a', 'b'] },
    true,
  ],
  ['exists true is presence even when null', 'sel:\n  f|exists: true\ncondition: sel', { f: null }, true],
  ['exists false needs absence', 'sel:\n  f|exists: false\ncondition: sel', { f: '' }, false],
  ['cased compares case-sensitively', "sel:\n  n|cased: 'Foo*'\ncondition: sel", { n: 'FOOD' }, false],
  ['cased matches the exact case', "sel:\n  n|cased: 'Foo*'\ncondition: sel", { n: 'Food' }, true],
  ['neq matches a different value', 'sel:\n  a|neq: allow\ncondition: sel', { a: 'deny' }, true],
  ['neq does not match the value', 'sel:\n  a|neq: allow\ncondition: sel', { a: 'ALLOW' }, false],
  [
    'neq with a list means none of them',
    'sel:\n  a|neq: [allow, pass]\ncondition: sel',
    { a: 'pass' },
    false,
  ],
  ['neq does not match a missing field', 'sel:\n  a|neq: allow\ncondition: sel', {}, false],
  [
    'windash matches a slash for a dash',
    "sel:\n  c|windash|contains: ' -exec '\ncondition: sel",
    { c: 'find /exec x' },
    true,
  ],
  [
    'windash matches the horizontal bar',
    "sel:\n  c|windash|contains: ' -exec '\ncondition: sel",
    { c: 'find \u2015exec x' },
    true,
  ],
  [
    'windash keeps the rest of the value',
    "sel:\n  c|windash|contains: ' -exec '\ncondition: sel",
    { c: 'find -exec' },
    false,
  ],
  [
    'windash turns dash into slash',
    "sel:\n  c|windash|contains: ' -exec '\ncondition: sel",
    { c: 'x /exec y' },
    true,
  ],
  [
    'windash with many dashes stays linear and correct',
    "sel:\n  c|windash|contains: '-a -b -c'\ncondition: sel",
    { c: '/a \u2013b /c' },
    true,
  ],
  [
    're is a case-sensitive search',
    "sel:\n  m|re: 'Fail(ed)? \\w+'\ncondition: sel",
    { m: 'x Failed pw' },
    true,
  ],
  ['re is case-sensitive by default', "sel:\n  m|re: 'Failed'\ncondition: sel", { m: 'failed' }, false],
  ['re|i ignores case', "sel:\n  m|re|i: '^failed'\ncondition: sel", { m: 'FAILED' }, true],
  ['re|m anchors per line', "sel:\n  m|re|m: '^root$'\ncondition: sel", { m: 'a\nroot\nb' }, true],
  ['re without m anchors at the ends', "sel:\n  m|re: '^root$'\ncondition: sel", { m: 'a\nroot\nb' }, false],
  ['re|s lets dot match newline', "sel:\n  m|re|s: 'A.B'\ncondition: sel", { m: 'A\nB' }, true],
  ['re without s does not cross newlines', "sel:\n  m|re: 'A.B'\ncondition: sel", { m: 'A\nB' }, false],
  [
    'a catastrophic pattern runs in linear time',
    "sel:\n  m|re: '(a+)+$'\ncondition: sel",
    { m: 'a'.repeat(5000) + '!' },
    false,
  ],
  [
    'base64 compares the encoded value',
    "sel:\n  d|base64|contains: 'http://'\ncondition: sel",
    { d: 'x aHR0cDovLw== y' },
    true,
  ],
  [
    'base64offset finds offset 1',
    "sel:\n  c|base64offset|contains: 'IEX ('\ncondition: sel",
    { c: '-enc eElFWCAo' },
    true,
  ],
  [
    'base64offset finds offset 2',
    "sel:\n  c|base64offset|contains: 'IEX ('\ncondition: sel",
    { c: Buffer.from('xyIEX (a').toString('base64') },
    true,
  ],
  [
    'wide re-encodes as UTF-16LE before base64',
    "sel:\n  c|wide|base64offset|contains: 'ping'\ncondition: sel",
    { c: Buffer.from('a ping', 'utf16le').toString('base64') },
    true,
  ],
  [
    'wide does not match the UTF-8 encoding',
    "sel:\n  c|wide|base64offset|contains: 'ping'\ncondition: sel",
    { c: 'cGluZw==' },
    false,
  ],
  [
    'utf16be encodes big-endian',
    "sel:\n  c|utf16be|base64: 'cmd'\ncondition: sel",
    { c: Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]).toString('base64') },
    true,
  ],
  [
    'utf16 prepends a BOM',
    "sel:\n  c|utf16|base64: 'cmd'\ncondition: sel",
    { c: Buffer.from([0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0]).toString('base64') },
    true,
  ],
  ['gt is strict', 'sel:\n  b|gt: 1000\ncondition: sel', { b: 1000 }, false],
  ['gte accepts numeric strings', 'sel:\n  b|gte: 10\ncondition: sel', { b: '10' }, true],
  ['lt accepts floats', 'sel:\n  b|lt: 2\ncondition: sel', { b: 1.5 }, true],
  ['lte never matches non-numeric values', 'sel:\n  b|lte: 2\ncondition: sel', { b: 'abc' }, false],
  [
    'hour extracts the hour as written',
    'sel:\n  t|hour: 14\ncondition: sel',
    { t: '2024-03-05T14:30:00+02:00' },
    true,
  ],
  [
    'hour combines with a comparison',
    'sel:\n  t|hour|gte: 22\ncondition: sel',
    { t: '2024-03-05T23:10:00Z' },
    true,
  ],
  [
    'minute, day, month and year extract their part',
    'sel:\n  t|minute: 30\n  t|day: 5\n  t|month: 3\n  t|year: 2024\ncondition: sel',
    { t: '2024-03-05 14:30:00' },
    true,
  ],
  ['week is the ISO week', 'sel:\n  t|week: 1\ncondition: sel', { t: '2025-01-01T00:00:00Z' }, true],
  [
    'cidr matches IPv4 networks',
    "sel:\n  ip|cidr: '172.16.0.0/12'\ncondition: sel",
    { ip: '172.31.255.255' },
    true,
  ],
  [
    'cidr rejects addresses outside',
    "sel:\n  ip|cidr: '172.16.0.0/12'\ncondition: sel",
    { ip: '172.32.0.1' },
    false,
  ],
  [
    'cidr matches IPv6 networks in any hex case',
    "sel:\n  ip|cidr: 'fe80::/10'\ncondition: sel",
    { ip: 'FEBF::1' },
    true,
  ],
  ['cidr does not mix families', "sel:\n  ip|cidr: 'fe80::/10'\ncondition: sel", { ip: '10.0.0.1' }, false],
  [
    'cidr accepts IPv4-mapped IPv6 event addresses',
    "sel:\n  ip|cidr: '10.0.0.0/8'\ncondition: sel",
    { ip: '::ffff:10.1.2.3' },
    true,
  ],
  ['cidr ignores non-addresses', "sel:\n  ip|cidr: '10.0.0.0/8'\ncondition: sel", { ip: '10.0.0' }, false],
  [
    'cidr /0 matches every IPv4 address',
    "sel:\n  ip|cidr: '0.0.0.0/0'\ncondition: sel",
    { ip: '8.8.8.8' },
    true,
  ],
  [
    'expand substitutes placeholder values with wildcards',
    "sel:\n  u|expand: '%admins%'\ncondition: sel",
    { u: 'ADM_bob' },
    true,
    { placeholders: { admins: ['root', 'adm_*'] } },
  ],
  [
    'expand keeps the text around the placeholder',
    "sel:\n  h|expand: 'srv-%site%.corp'\ncondition: sel",
    { h: 'srv-b.corp' },
    true,
    { placeholders: { site: ['a', 'b'] } },
  ],
  [
    'without expand a placeholder is literal',
    "sel:\n  u: '%admins%'\ncondition: sel",
    { u: '%admins%' },
    true,
  ],
  ['fieldref compares two fields', 'sel:\n  a|fieldref: b\ncondition: sel', { a: 'Bob', b: 'bob' }, true],
  [
    'fieldref with a missing field does not match',
    'sel:\n  a|fieldref: b\ncondition: sel',
    { a: 'bob' },
    false,
  ],
  [
    'fieldref combines with contains',
    'sel:\n  a|fieldref|contains: b\ncondition: sel',
    { a: 'xbobx', b: 'bob' },
    true,
  ],
  ['fieldref combines with neq', 'sel:\n  a|fieldref|neq: b\ncondition: sel', { a: 'x', b: 'y' }, true],
  [
    'fieldMap renames the field before lookup',
    'sel:\n  User: root\ncondition: sel',
    { user: { name: 'root' } },
    true,
    { fieldMap: { User: 'user.name' } },
  ],
  // conditions
  [
    'and binds tighter than or',
    'a:\n  f1: x\nb:\n  f2: y\nc:\n  f3: z\ncondition: a or b and c',
    { f2: 'y' },
    false,
  ],
  [
    'or is the loosest operator',
    'a:\n  f1: x\nb:\n  f2: y\nc:\n  f3: z\ncondition: a or b and c',
    { f1: 'x' },
    true,
  ],
  ['not binds tighter than and', 'a:\n  f1: x\nb:\n  f2: y\ncondition: not a and b', { f2: 'y' }, true],
  [
    'parentheses override precedence',
    'a:\n  f1: x\nb:\n  f2: y\nc:\n  f3: z\ncondition: (a or b) and c',
    { f1: 'x' },
    false,
  ],
  [
    '1 of pattern is OR over matching identifiers',
    'sel_a:\n  a: 1\nsel_b:\n  b: 2\nother:\n  c: 3\ncondition: 1 of sel_*',
    { b: 2 },
    true,
  ],
  [
    '1 of pattern ignores non-matching identifiers',
    'sel_a:\n  a: 1\nsel_b:\n  b: 2\nother:\n  c: 3\ncondition: 1 of sel_*',
    { c: 3 },
    false,
  ],
  ['all of pattern is AND', 'sel_a:\n  a: 1\nsel_b:\n  b: 2\ncondition: all of sel_*', { a: 1 }, false],
  [
    'all of them skips underscore identifiers',
    'sel1:\n  a: 1\n_x:\n  z: 9\ncondition: all of them',
    { a: 1 },
    true,
  ],
  ['1 of them', 'sel1:\n  a: 1\nsel2:\n  b: 2\ncondition: 1 of them', { b: 2 }, true],
  [
    'not 1 of filters',
    'selection:\n  i: x\nfilter_a:\n  u: root\nfilter_b:\n  p: apt\ncondition: selection and not 1 of filter_*',
    { i: 'x', p: 'apt' },
    false,
  ],
  [
    'not all of filters',
    'sel:\n  a: 1\nfilter_1:\n  b: 1\nfilter_2:\n  c: 1\ncondition: sel and not all of filter_*',
    { a: 1, b: 1 },
    true,
  ],
  ['a condition list is OR', 'a:\n  f1: x\nb:\n  f2: y\ncondition:\n  - a\n  - b', { f2: 'y' }, true],
  [
    'not on a missing field is true',
    "sel:\n  d: 1\nfilter:\n  ip|cidr: '10.0.0.0/8'\ncondition: sel and not filter",
    { d: 1 },
    true,
  ],
];

describe('sigma detection semantics', () => {
  // Every row gets its options column, so jest never mistakes the last parameter for a done callback.
  const table = rows.map(([n, d, e, x, o]) => [n, d, e, x, o ?? {}] as const);
  it.each(table)('%s', (_name, detection, event, expected, opts) => {
    expect(matches(detection, event, opts)).toBe(expected);
  });
});

describe('sigma compile errors', () => {
  it.each([
    ['an unknown modifier', 'sel:\n  a|bogus: 1\ncondition: sel', 'UNKNOWN_MODIFIER'],
    [
      'an identifier the condition does not define',
      'sel:\n  a: 1\ncondition: sel and other',
      'UNKNOWN_IDENTIFIER',
    ],
    ['a pattern that matches no identifier', 'sel:\n  a: 1\ncondition: 1 of filter_*', 'UNKNOWN_IDENTIFIER'],
    ['an unbalanced parenthesis', 'sel:\n  a: 1\ncondition: (sel', 'CONDITION_SYNTAX'],
    ['a legacy aggregation', 'sel:\n  a: 1\ncondition: sel | count() > 5', 'UNSUPPORTED_AGGREGATION'],
    ['a look-ahead regular expression', "sel:\n  a|re: 'x(?=y)'\ncondition: sel", 'UNSUPPORTED_REGEX'],
    ['an invalid network', "sel:\n  a|cidr: '10.0.0.0/33'\ncondition: sel", 'INVALID_CIDR'],
    ['a placeholder without values', "sel:\n  a|expand: '%nope%'\ncondition: sel", 'UNRESOLVED_PLACEHOLDER'],
    ['a non-numeric comparison value', "sel:\n  a|gt: 'x'\ncondition: sel", 'INVALID_MODIFIER_VALUE'],
    ['base64 of a wildcard value', "sel:\n  a|base64: 'x*'\ncondition: sel", 'INVALID_MODIFIER_VALUE'],
    ['re flags without re', "sel:\n  a|contains|i: 'x'\ncondition: sel", 'MODIFIER_CONFLICT'],
    ['two comparison types', "sel:\n  a|re|cidr: 'x'\ncondition: sel", 'MODIFIER_CONFLICT'],
  ])('reports %s with a stable code', (_name, detection, code) => {
    expect(compileError(detection)).toBe(code);
  });

  it('puts the line of the offending search identifier on the error', () => {
    const { rules } = loadRulesFromText(
      ruleYaml('sel:\n  a: 1\nbad:\n  b|bogus: 2\ncondition: sel or bad'),
      'x.yml',
    );
    expect(() => compileRule(rules[0] as never)).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_MODIFIER', line: 8 }),
    );
  });

  it('quarantines a broken rule in a set instead of throwing', () => {
    const good = loadRulesFromText(ruleYaml('sel:\n  a: 1\ncondition: sel'), 'good.yml').rules;
    const bad = loadRulesFromText(ruleYaml('sel:\n  a|bogus: 1\ncondition: sel'), 'bad.yml').rules;
    const set = compileRules([...bad, ...good]);
    expect(set.size).toBe(1);
    expect(set.errors).toEqual([
      expect.objectContaining({ file: 'bad.yml', code: 'UNKNOWN_MODIFIER', line: 6 }),
    ]);
    expect(set.match({ a: 1 }).map((m) => m.rule.source.file)).toEqual(['good.yml']);
  });
});

describe('sigma rule set', () => {
  const text = [
    ruleYaml("sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel").replace('1111-1111', '1111-0001'),
    ruleYaml("kw:\n  - 'mimikatz'\ncondition: kw").replace('1111-1111', '1111-0002'),
    ruleYaml('sel:\n  user.name: root\ncondition: sel').replace('1111-1111', '1111-0003'),
    ruleYaml('sel:\n  Image: x\ncondition: not sel').replace('1111-1111', '1111-0004'),
  ].join('---\n');
  const { rules } = loadRulesFromText(text, 'set.yml');
  const set = compileRules(rules);

  it.each([
    [
      'field rules, keyword rules and negations together, in rule order',
      { Image: 'C:\\cmd.exe', msg: 'MIMIKATZ' },
      ['0001', '0002', '0004'],
    ],
    ['a negation matches an event without the field', { other: 1 }, ['0004']],
    ['nested and flat dotted fields reach the same rule', { 'user.name': 'root' }, ['0003', '0004']],
    ['nested fields are found through the index', { user: { name: 'ROOT' } }, ['0003', '0004']],
  ])('returns %s', (_name, event, ids) => {
    expect(set.match(event).map((m) => m.rule.id.slice(9, 13))).toEqual(ids);
  });

  it('reports the fields that made the rule match', () => {
    const m = set.match({ Image: 'C:\\cmd.exe', x: 1 }).find((r) => r.rule.id.includes('0001'));
    expect(m?.matchedFields).toEqual({ Image: 'C:\\cmd.exe' });
  });

  describe('filters follow the Sigma filters spec (listed rule and containing logsource)', () => {
    const docs = (filterLs: string, targets: string) =>
      loadRulesFromText(
        [
          'title: a\nid: f-a\nname: rule_a\nlogsource: { product: windows, category: process_creation }\ndetection:\n    sel: { Image|endswith: cmd.exe }\n    condition: sel\n',
          'title: b\nid: f-b\nlogsource: { product: windows, category: process_creation }\ndetection:\n    sel: { Image|endswith: cmd.exe }\n    condition: sel\n',
          'title: c\nid: f-c\nlogsource: { product: linux }\ndetection:\n    sel: { Image|endswith: cmd.exe }\n    condition: sel\n',
          `title: admins\nlogsource: ${filterLs}\nfilter:\n    rules: ${targets}\n    selection: { User|startswith: adm_ }\n    condition: selection\n`,
        ].join('---\n'),
        'filters.yml',
      ).rules;
    const matched = (filterLs: string, targets: string): string[] =>
      compileRules(docs(filterLs, targets))
        .match({ Image: 'C:\\cmd.exe', User: 'adm_x' })
        .map((m) => m.rule.id);
    it.each([
      [
        'a listed rule (by name) of the same logsource',
        '{ product: windows, category: process_creation }',
        '[rule_a]',
        ['f-b', 'f-c'],
      ],
      ['a less specific filter logsource contains the rule', '{ product: windows }', '[f-a, f-b]', ['f-c']],
      ['a filter of another logsource does not apply', '{ product: linux }', '[f-a]', ['f-a', 'f-b', 'f-c']],
      [
        'a more specific filter logsource does not contain the rule',
        '{ product: linux, service: auth }',
        '[f-c]',
        ['f-a', 'f-b', 'f-c'],
      ],
      ['rules: any filters every rule of its logsource', '{ product: windows }', 'any', ['f-c']],
    ])('%s', (_n, ls, targets, expected) => {
      expect(matched(ls, targets)).toEqual(expected);
    });
  });

  it('applies a filter document as "and not" to the rules it names', () => {
    const filterDoc = `title: skip admins\nlogsource:\n    product: test\nfilter:\n    rules:\n        - ${rules[0]?.id}\n    selection:\n        User|startswith: adm_\n    condition: selection\n`;
    const withFilter = compileRules([...rules, ...loadRulesFromText(filterDoc, 'f.yml').rules]);
    expect(withFilter.match({ Image: 'a\\cmd.exe', User: 'adm_x' }).map((m) => m.rule.id)).not.toContain(
      rules[0]?.id,
    );
    expect(withFilter.match({ Image: 'a\\cmd.exe', User: 'bob' }).map((m) => m.rule.id)).toContain(
      rules[0]?.id,
    );
  });
});
