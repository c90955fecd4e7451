import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import {
  type LogsourcePredicate,
  type SigmaRule,
  compileRule,
  compileRules,
  loadPipelineFile,
  loadRules,
  loadRulesFromText,
} from '../index';

/**
 * The literal index must never change a verdict: the indexed set and a naive loop over every rule, each
 * compiled alone (no index), must return the same rules for every event. Events are generated from the
 * rules' own values, mutated (case, affixes, truncation, arrays, nesting, nulls), so many of them come
 * close to matching, which is where a wrong prefilter would show.
 */
const repoRoot = path.resolve(__dirname, '../../../..');
const corpusDir = process.env['CITYSOC_CORPUS_DIR'] ?? path.resolve(repoRoot, '../shared/corpus');
const sigmaDir = path.join(corpusDir, 'sigma');

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TRICKY = [
  "sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel",
  'sel:\n  Image: x\ncondition: not sel',
  'sel:\n  a|exists: false\ncondition: sel',
  'sel:\n  a|exists: true\ncondition: sel',
  'sel:\n  a: null\ncondition: sel',
  "kw:\n  - 'mimikatz'\n  - 'sekurlsa::'\ncondition: kw",
  "kw:\n  '|all':\n    - 'net'\n    - 'user'\ncondition: kw",
  'sel1:\n  a|contains: foo\nsel2:\n  b|startswith: bar\ncondition: all of sel*',
  'sel1:\n  a|contains: foo\nsel2:\n  b|startswith: bar\nsel3:\n  c: baz\ncondition: 2 of sel*',
  'sel:\n  a|contains|all:\n    - foo\n    - bar\ncondition: sel',
  "sel:\n  a|re: 'fo+o|ba[rz]'\ncondition: sel",
  "sel:\n  a|re|i: 'SeSsIoN\\s+opened'\ncondition: sel",
  "sel:\n  a|re: '^x.*y$'\ncondition: sel",
  'sel:\n  a|contains|cased: FoO\ncondition: sel',
  "sel:\n  CommandLine|contains|windash: ' -enc '\ncondition: sel",
  "sel:\n  CommandLine|base64offset|contains: 'http://'\ncondition: sel",
  "sel:\n  ip|cidr: '10.0.0.0/8'\ncondition: sel",
  'sel:\n  a|neq: foo\ncondition: sel',
  'sel:\n  a|fieldref: b\ncondition: sel',
  'sel:\n  user.name: root\ncondition: sel',
  "sel:\n  a: 'f?o*r'\ncondition: sel",
  "sel:\n  a: ''\ncondition: sel",
  "sel:\n  a: '*'\ncondition: sel",
  'sel:\n  a|gt: 10\ncondition: sel',
  "sel:\n  a:\n    - v1\n    - v2\n    - v3\n    - v4\n    - v5\n    - v6\n    - v7\n    - v8\n    - '*v9*'\n    - 'pre*'\n    - '*suf'\ncondition: sel",
  "sel:\n  a|contains:\n    - a1\n    - a2\n    - a3\n    - a4\n    - a5\n    - a6\n    - a7\n    - 'ü8'\ncondition: sel",
  'sel:\n  a: foo\nfilter:\n  b: bar\ncondition: sel and not filter',
  'sel:\n  - a: foo\n  - b|endswith: bar\ncondition: sel',
  'f1:\n  a: null\nf2:\n  b: foo\ncondition: not 1 of f*',
  'f1:\n  a|exists: false\ncondition: not f1',
  'f1:\n  a: null\n  b: foo\ncondition: not f1',
  'f1:\n  - a: null\n  - b: foo\nf2:\n  c: baz\ncondition: not f1 and not f2',
  'f1:\n  c|neq: null\ncondition: not f1',
  "sel:\n  a|re: '.{5,}'\ncondition: sel",
  "sel:\n  a|re: '(?i)f(oo)+\\b|x{2,}y'\ncondition: sel",
];

function trickyRules(): SigmaRule[] {
  const text = TRICKY.map((d, i) => {
    const body = d
      .split('\n')
      .map((l) => '    ' + l)
      .join('\n');
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    return `title: t${i}\nid: ${id}\nlogsource:\n    product: test\ndetection:\n${body}\nlevel: low\n`;
  }).join('---\n');
  const { rules, errors } = loadRulesFromText(text, 'tricky.yml');
  expect(errors).toEqual([]);
  return rules;
}

/** (field, value) pairs that appear in the rules, wildcards and all. */
function harvest(rules: SigmaRule[]): { fields: string[]; values: string[] } {
  const fields = new Set<string>(['a', 'b', 'c', 'message']);
  const values = new Set<string>(['foo', 'bar', 'baz', 'root', 'x', 'y']);
  const visit = (v: unknown, key: string | undefined): void => {
    if (Array.isArray(v)) v.forEach((x) => visit(x, key));
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k !== 'condition') visit(x, k);
      }
    else if (typeof v === 'string' || typeof v === 'number') {
      if (key !== undefined && !key.startsWith('|') && key.split('|')[0] !== '')
        fields.add(key.split('|')[0]!);
      values.add(String(v));
    }
  };
  for (const r of rules) visit(r.detection, undefined);
  return { fields: [...fields], values: [...values] };
}

function mutate(r: () => number, v: string): unknown {
  const s = v.replace(/\*/g, () => (r() < 0.5 ? '' : 'zz')).replace(/\?/g, 'q');
  const x = r();
  if (x < 0.2) return s;
  if (x < 0.35) return s.toUpperCase();
  if (x < 0.5) return `pre ${s} post`;
  if (x < 0.6) return s.slice(0, Math.max(0, s.length - 1));
  if (x < 0.7) return [`other`, s];
  if (x < 0.75) return null;
  if (x < 0.8) return Number.isFinite(Number(s)) && s !== '' ? Number(s) : s;
  if (x < 0.9) return `C:\\Windows\\${s}`;
  return s.slice(1);
}

function events(rules: SigmaRule[], n: number, seed: number): Record<string, unknown>[] {
  const r = rng(seed);
  const { fields, values } = harvest(rules);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const ev: Record<string, unknown> = {};
    const k = 1 + Math.floor(r() * 6);
    for (let j = 0; j < k; j++) {
      const f = pick(fields);
      const v = mutate(r, pick(values));
      if (f.includes('.') && r() < 0.5) {
        // The nested form of a dotted field name.
        const [head, ...rest] = f.split('.');
        ev[head!] = { [rest.join('.')]: v };
      } else ev[f] = v;
    }
    if (r() < 0.3) ev['message'] = `text ${String(mutate(r, pick(values)))} more`;
    out.push(ev);
  }
  return out;
}

function naiveMatches(rules: SigmaRule[], opts: Parameters<typeof compileRules>[1]) {
  const compiled = rules.flatMap((rule) => {
    try {
      return [{ rule, c: compileRule(rule, opts) }];
    } catch {
      return [];
    }
  });
  return (ev: Record<string, unknown>): SigmaRule[] =>
    compiled.filter(({ c }) => c.match(ev) !== null).map(({ rule }) => rule);
}

function placeholdersFor(rules: SigmaRule[]): Record<string, string[]> {
  const names = new Set<string>();
  for (const r of rules)
    for (const m of JSON.stringify(r.detection).matchAll(/%([A-Za-z0-9_.-]+)%/g)) names.add(m[1] as string);
  return Object.fromEntries([...names].map((n) => [n, [`placeholder-${n}`, `${n}-*`]]));
}

function compare(rules: SigmaRule[], n: number, seed: number): { matched: number; evaluations: number } {
  const opts = { placeholders: placeholdersFor(rules) };
  const set = compileRules(rules, opts);
  expect(set.errors).toEqual([]);
  const naive = naiveMatches(rules, opts);
  const diffs: string[] = [];
  let matched = 0;
  for (const ev of events(rules, n, seed)) {
    const got = set.match(ev).map((m) => m.rule);
    const want = naive(ev);
    if (want.length > 0) matched++;
    if (got.length !== want.length || got.some((g, i) => g !== want[i])) {
      diffs.push(
        `${JSON.stringify(ev)}: indexed ${got.map((x) => x.title).join(',')} naive ${want.map((x) => x.title).join(',')}`,
      );
    }
  }
  expect(diffs.slice(0, 5)).toEqual([]);
  return { matched, evaluations: set.stats().evaluations };
}

describe('literal index vs naive evaluation', () => {
  it('agrees on rules built to trip a prefilter (negations, nulls, keywords, regex, lists)', () => {
    const rules = trickyRules();
    const { matched } = compare(rules, 4000, 7);
    // The generator must actually produce matches, or the comparison proves nothing.
    expect(matched).toBeGreaterThan(400);
  });

  const present = existsSync(sigmaDir);
  (present ? it : it.skip)('agrees on the SigmaHQ main corpus over a generated event mix', () => {
    const folders = readdirSync(sigmaDir)
      .filter((n) => n.startsWith('rules'))
      .sort()
      .map((n) => path.join(sigmaDir, n));
    const rules = loadRules(folders).rules;
    const n = 1500;
    const { matched, evaluations } = compare(rules, n, 11);
    expect(matched).toBeGreaterThan(50);
    // And the index does its job: far fewer evaluations than rules × events.
    expect(evaluations).toBeLessThan((rules.length * n) / 20);
  });
});

/** Shapes the citysoc pipeline routes on, merged into generated events so every route gets exercised. */
const ROUTING: Record<string, unknown>[] = [
  { event: { module: 'syslog' }, process: { name: 'sshd' } },
  { event: { module: 'syslog' }, process: { name: 'sudo' } },
  { event: { module: 'syslog' }, process: { name: 'kernel' } },
  { event: { module: 'syslog', dataset: 'nginx.access' }, process: { name: 'nginx' } },
  { event: { module: 'syslog', category: 'network' }, observer: { vendor: 'Fortinet', type: 'firewall' } },
  { event: { module: 'syslog', original: '<189>12: %BGP-5-ADJCHANGE: x' } },
  { event: { category: ['network'], type: ['connection'], dataset: 'flow' } },
  { Channel: 'Security', EventID: 4688 },
  { winlog: { channel: 'Microsoft-Windows-Sysmon/Operational', event_id: 1 } },
  { Channel: 'Microsoft-Windows-PowerShell/Operational', EventID: 4104 },
  {},
];

describe('routed literal index vs naive evaluation (the shipped citysoc pipeline)', () => {
  const present = existsSync(sigmaDir);
  // With what the predicates declare (reads, partial) the set routes first and memoizes verdicts; a
  // predicate that declares nothing is asked per event (behind its literals) or through the index.
  (present
    ? it.each([['routing first', true] as const, ['predicates that declare nothing', false] as const])
    : it.skip.each([['', true] as const]))(
    'agrees on the main corpus, and gates most predicate calls (%s)',
    (_n, declared) => {
      const piped = loadPipelineFile(path.join(repoRoot, 'rules', 'pipelines', 'citysoc.yml'));
      const pipeline = piped.pipeline!;
      const folders = readdirSync(sigmaDir)
        .filter((n) => n.startsWith('rules'))
        .sort()
        .map((n) => path.join(sigmaDir, n));
      const rules = loadRules(folders).rules.filter((r) => r.kind === 'detection' && r.support.supported);
      const placeholders = placeholdersFor(rules);
      let calls = 0;
      const counted = new Map<LogsourcePredicate, LogsourcePredicate>();
      const set = compileRules(rules, {
        placeholders,
        // Counting wrappers keep the predicate's requirement, so the set still gates them.
        logsource: (ls) => {
          const p = pipeline.logsource(ls);
          if (!p) return null;
          let c = counted.get(p);
          if (!c) {
            c = Object.assign(
              (ev: Record<string, unknown>) => (calls++, p(ev)),
              declared ? { req: p.req, req2: p.req2, reads: p.reads, partial: p.partial } : { req: p.req },
            );
            counted.set(p, c);
          }
          return c;
        },
        fieldsFor: (ls) => pipeline.fieldsFor(ls),
      });
      expect(set.errors).toEqual([]);
      const naive = rules.flatMap((rule) => {
        const pred = pipeline.logsource(rule.logsource);
        if (!pred) return [];
        try {
          const c = compileRule(rule, { placeholders, fields: pipeline.fieldsFor(rule.logsource) });
          return [{ rule, pred, c }];
        } catch {
          return [];
        }
      });
      const r = rng(5);
      const diffs: string[] = [];
      let matched = 0;
      const evs = events(rules, 1500, 13).map((ev) => ({
        ...ev,
        ...ROUTING[Math.floor(r() * ROUTING.length)],
      }));
      for (const ev of evs) {
        const got = set.match(ev).map((m) => m.rule);
        const want = naive.filter((x) => x.pred(ev) && x.c.match(ev) !== null).map((x) => x.rule);
        if (want.length > 0) matched++;
        if (got.length !== want.length || got.some((g, i) => g !== want[i])) {
          diffs.push(
            `${JSON.stringify(ev)}: indexed ${got.map((x) => x.title).join(',')} naive ${want.map((x) => x.title).join(',')}`,
          );
        }
      }
      expect(diffs.slice(0, 5)).toEqual([]);
      expect(matched).toBeGreaterThan(20);
      // Gated predicates run only on events that hold one of their literals: fewer than one route per event.
      expect(calls).toBeLessThan(counted.size * evs.length);
    },
  );
});
