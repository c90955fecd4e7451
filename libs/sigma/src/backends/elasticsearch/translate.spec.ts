import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadRulesFromText } from '../../load';
import { type SigmaRule } from '../../model';
import { toLuceneRegex } from './lucene-regex';
import { type EsBackendOptions, ruleToElasticsearch } from './translate';

/** A stand-in for the store's mapping; the store passes the real one (libs/store/src/elasticsearch). */
const TYPES: Record<string, string> = {
  message: 'text',
  'message.wildcard': 'wildcard',
  'source.ip': 'ip',
  'destination.ip': 'ip',
  'source.port': 'long',
  'destination.port': 'long',
  'network.bytes': 'long',
  '@timestamp': 'date_nanos',
  'process.command_line': 'wildcard',
};
const opts: EsBackendOptions = {
  fieldType: (p) => TYPES[p] ?? 'keyword',
  exactField: { message: 'message.wildcard' },
  keywordFields: ['message.wildcard'],
  placeholders: { admins: ['root', 'admin*'] },
};

function rule(detection: string): SigmaRule {
  const text = `title: t\nid: 6f1e3c52-6a2f-4e0b-9b8a-000000000001\nlogsource: { product: linux }\nlevel: low\ndetection:\n${detection
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n')}\n`;
  const { rules, errors } = loadRulesFromText(text, 'table.yml');
  if (errors.length > 0 || !rules[0]) throw new Error(JSON.stringify(errors));
  return rules[0];
}

const TABLE: Array<[string, string]> = [
  ['equals, case-insensitive', `sel: { log.syslog.appname: sshd }\ncondition: sel`],
  ['list of values is OR', `sel: { user.name: [root, admin] }\ncondition: sel`],
  [
    'contains/startswith/endswith',
    `sel:\n  message|contains: Failed password\n  process.name|startswith: ssh\n  host.hostname|endswith: .corp\ncondition: sel`,
  ],
  ['contains|all', `sel: { message|contains|all: [Failed, root] }\ncondition: sel`],
  ['cased', `sel: { user.name|cased: Root }\ncondition: sel`],
  [
    'wildcards in values, escaped literals',
    `sel: { process.command_line: 'C:\\\\Windows\\\\*\\\\cmd?.exe' }\ncondition: sel`,
  ],
  ['re', `sel: { message|re: '^Failed password for (invalid user )?\\w+ from \\d+\\.\\d+' }\ncondition: sel`],
  ['re with flag i', `sel: { user.name|re|i: 'adm[io]n#1' }\ncondition: sel`],
  ['cidr', `sel: { source.ip|cidr: [10.0.0.0/8, 'fd00::/8'] }\ncondition: sel`],
  [
    'exists true/false',
    `a: { user.name|exists: true }\nb: { process.pid|exists: false }\ncondition: a and b`,
  ],
  ['null means missing', `sel: { user.name: null }\ncondition: sel`],
  [
    'numbers and comparisons',
    `sel:\n  destination.port: 22\n  network.bytes|gte: 1000\n  source.port|lt: 1024\ncondition: sel`,
  ],
  ['neq', `sel: { user.name|neq: root }\ncondition: sel`],
  ['windash', `sel: { process.command_line|windash|contains: ' -enc ' }\ncondition: sel`],
  ['base64offset', `sel: { process.command_line|base64offset|contains: 'http://' }\ncondition: sel`],
  ['expand placeholders', `sel: { user.name|expand: '%admins%' }\ncondition: sel`],
  ['keywords', `keywords: [segfault, 'kernel: *oops']\ncondition: keywords`],
  [
    '1 of x*',
    `sel_a: { process.name: sshd }\nsel_b: { process.name: sudo }\nother: { user.name: root }\ncondition: 1 of sel_* and other`,
  ],
  [
    'all of them, underscore excluded',
    `a: { process.name: sshd }\nb: { user.name: root }\n_c: { host.name: x }\ncondition: all of them`,
  ],
  [
    '2 of them',
    `a: { process.name: sshd }\nb: { user.name: root }\nc: { host.name: x }\ncondition: 2 of them`,
  ],
  [
    'not and parentheses',
    `sel: { process.name: sshd }\nf1: { user.name: backup }\nf2: { source.ip|cidr: 10.0.0.0/8 }\ncondition: sel and not (f1 or f2)`,
  ],
  [
    'list of maps is OR',
    `sel:\n  - { process.name: sshd }\n  - { process.name: sudo, user.name: root }\ncondition: sel`,
  ],
  ['condition list is OR', `a: { process.name: sshd }\nb: { user.name: root }\ncondition: [a, b]`],
];

const REFUSED: Array<[string, string, RegExp]> = [
  ['fieldref', `sel: { user.name|fieldref: source.user.name }\ncondition: sel`, /fieldref.*script/],
  ['timepart', `sel: { '@timestamp|hour': 3 }\ncondition: sel`, /hour.*script/],
  ['look-around regex', `sel: { message|re: 'foo(?=bar)' }\ncondition: sel`, /look-around/],
  ['back-reference regex', `sel: { message|re: '(a)\\1' }\ncondition: sel`, /back-reference/],
  ['wildcard on an ip field', `sel: { source.ip|startswith: '10.' }\ncondition: sel`, /ip field source\.ip/],
  ['cidr on a keyword field', `sel: { user.name|cidr: 10.0.0.0/8 }\ncondition: sel`, /not mapped as ip/],
  ['comparison on a keyword', `sel: { user.name|gt: 3 }\ncondition: sel`, /not mapped as a number/],
  ['unknown placeholder', `sel: { user.name|expand: '%nobody%' }\ncondition: sel`, /placeholder %nobody%/],
];

describe('Sigma → Elasticsearch query DSL', () => {
  const update = process.env.CITYSOC_UPDATE_GOLDEN === '1';
  const file = path.join(__dirname, 'golden.json');

  it('translates the table of rules exactly as the golden file records', () => {
    const got: Record<string, unknown> = {};
    for (const [name, det] of TABLE) {
      const t = ruleToElasticsearch(rule(det), opts);
      if (!t.ok) throw new Error(`${name}: ${t.reason}`);
      got[name] = t.warnings.length ? { query: t.query, warnings: t.warnings } : t.query;
    }
    // Compared as JSON: prettier may reflow the file.
    if (update || !existsSync(file)) writeFileSync(file, JSON.stringify(got, null, 2) + '\n');
    expect(got).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });

  it('reads a field mapped to alternatives as the matcher does: the first path present', () => {
    const paths = (f: string) => (f === 'Channel' ? ['winlog.channel', 'Channel'] : [f]);
    const t = ruleToElasticsearch(rule(`sel: { Channel: Security }\ncondition: sel`), {
      ...opts,
      fieldPaths: paths,
    });
    const term = (field: string) => ({ term: { [field]: { value: 'Security', case_insensitive: true } } });
    expect(t).toEqual({
      ok: true,
      warnings: [],
      query: {
        bool: {
          should: [
            { bool: { filter: [{ exists: { field: 'winlog.channel' } }, term('winlog.channel')] } },
            {
              bool: {
                filter: [{ bool: { must_not: [{ exists: { field: 'winlog.channel' } }] } }, term('Channel')],
              },
            },
          ],
          minimum_should_match: 1,
        },
      },
    });
    // The resolver wins over fieldMap, as in the matcher's compile.
    const mapped = ruleToElasticsearch(rule(`sel: { Channel: Security }\ncondition: sel`), {
      ...opts,
      fieldMap: { Channel: 'nope' },
      fieldPaths: (f) => (f === 'Channel' ? ['winlog.channel'] : []),
    });
    expect(mapped).toMatchObject({ ok: true, query: term('winlog.channel') });
  });

  it.each(REFUSED)('refuses %s with a reason', (_name, det, why) => {
    const t = ruleToElasticsearch(rule(det), opts);
    expect(t.ok).toBe(false);
    expect(t.ok ? '' : t.reason).toMatch(why);
  });

  it('refuses correlation rules instead of dropping them', () => {
    const { rules } = loadRulesFromText(
      `title: c\nid: 6f1e3c52-6a2f-4e0b-9b8a-000000000002\ncorrelation:\n  type: event_count\n  rules: [x]\n  group-by: [source.ip]\n  timespan: 5m\n  condition: { gte: 3 }\n`,
      'c.yml',
    );
    const t = ruleToElasticsearch(rules[0] as SigmaRule, opts);
    expect(t).toEqual({ ok: false, reason: expect.stringMatching(/correlation/) });
  });

  it.each([
    ['abc', { i: false, m: false, s: false }, '.*(abc).*'],
    ['^abc$', { i: false, m: false, s: false }, '(abc)'],
    ['a.c', { i: false, m: false, s: true }, '.*(a.c).*'],
    ['a.c', { i: false, m: false, s: false }, '.*(a[^\n]c).*'],
    ['(?:x|y)+?z', { i: false, m: false, s: true }, '.*((x|y)+z).*'],
    ['mail@host <a> "q" ~#&', { i: false, m: false, s: true }, '.*(mail\\@host \\<a\\> \\"q\\" \\~\\#\\&).*'],
    ['[\\d.]+\\t\\x41', { i: false, m: false, s: true }, '.*([0-9.]+\tA).*'],
    ['(?i)root', { i: false, m: false, s: true }, '.*(root).*'],
  ])('regex %s → Lucene', (src, flags, want) => {
    expect(toLuceneRegex(src, flags).value).toBe(want);
  });
});
