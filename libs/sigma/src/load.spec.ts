import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { compileRules, loadRules, loadRulesFromText } from './index';

const rule = (id: string, extra = ''): string =>
  `title: rule ${id}\nid: ${id}\n${extra}logsource:\n    product: test\ndetection:\n    sel:\n        a: 1\n    condition: sel\nlevel: high\n`;

describe('sigma rule loading', () => {
  it('loads every document of a multi-document file', () => {
    const { rules, errors } = loadRulesFromText([rule('r1'), rule('r2')].join('---\n'), 'multi.yml');
    expect(errors).toEqual([]);
    expect(rules.map((r) => [r.id, r.source.line])).toEqual([
      ['r1', 1],
      ['r2', 11],
    ]);
  });

  it('quarantines a broken document and still loads the others', () => {
    const broken = 'title: broken\nid: bad\nlogsource:\n    product: test\ndetection:\n    sel: [a, b\n';
    const { rules, errors } = loadRulesFromText([rule('r1'), broken, rule('r3')].join('---\n'), 'multi.yml');
    expect(rules.map((r) => r.id)).toEqual(['r1', 'r3']);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ file: 'multi.yml', code: 'YAML_SYNTAX' });
    expect(errors[0]?.line).toBeGreaterThanOrEqual(17);
    expect(errors[0]?.line).toBeLessThanOrEqual(19);
  });

  it.each([
    [
      'a missing title',
      'id: x\nlogsource:\n    product: t\ndetection:\n    s:\n        a: 1\n    condition: s\n',
      1,
      'MISSING_FIELD',
    ],
    ['a missing detection', 'title: t\nid: x\nlogsource:\n    product: t\n', 1, 'MISSING_FIELD'],
    [
      'a missing condition',
      'title: t\nlogsource:\n    product: t\ndetection:\n    s:\n        a: 1\n',
      4,
      'INVALID_DETECTION',
    ],
    [
      'an invalid level',
      'title: t\nlevel: severe\nlogsource:\n    product: t\ndetection:\n    s: x\n    condition: s\n',
      2,
      'INVALID_FIELD',
    ],
    [
      'a duplicate key',
      'title: t\nlogsource:\n    product: t\ndetection:\n    s: x\n    s: y\n    condition: s\n',
      6,
      'YAML_SYNTAX',
    ],
    ['a document that is not a map', '- a\n- b\n', 1, 'INVALID_DOCUMENT'],
  ])('reports %s at its line', (_name, text, line, code) => {
    const { rules, errors } = loadRulesFromText(text, 'e.yml');
    expect(rules).toEqual([]);
    expect(errors).toEqual([expect.objectContaining({ file: 'e.yml', line, code })]);
  });

  it('ignores unknown keys and keeps the metadata alerts need', () => {
    const { rules, errors } = loadRulesFromText(
      rule('r1', 'author: Jane Doe\nlicense: DRL-1.1\ntags:\n    - attack.t1059\nx-custom: 42\n'),
      'meta.yml',
    );
    expect(errors).toEqual([]);
    expect(rules[0]).toMatchObject({
      author: 'Jane Doe',
      license: 'DRL-1.1',
      tags: ['attack.t1059'],
      level: 'high',
      kind: 'detection',
    });
  });

  it('skips deprecated and unsupported rules unless asked for', () => {
    const text = [
      rule('d', 'status: deprecated\n'),
      rule('u', 'status: unsupported\n'),
      rule('s', 'status: stable\n'),
    ].join('---\n');
    expect(loadRulesFromText(text, 'x.yml').rules.map((r) => r.id)).toEqual(['s']);
    const all = loadRulesFromText(text, 'x.yml', {
      includeStatuses: { deprecated: true, unsupported: true },
    });
    expect(all.rules.map((r) => r.id)).toEqual(['d', 'u', 's']);
  });

  it('gives a version that ignores formatting but follows content', () => {
    const v1 = loadRulesFromText(rule('r1'), 'a.yml').rules[0]?.version;
    const v2 = loadRulesFromText(rule('r1').replace('a: 1', 'a:    1   # comment'), 'b.yml').rules[0]
      ?.version;
    const v3 = loadRulesFromText(rule('r1').replace('a: 1', 'a: 2'), 'c.yml').rules[0]?.version;
    expect(v1).toMatch(/^[0-9a-f]{16}$/);
    expect(v2).toBe(v1);
    expect(v3).not.toBe(v1);
  });

  it('loads a correlation document and marks it unsupported instead of failing', () => {
    const corr =
      'title: many failures\nid: c1\ncorrelation:\n    type: event_count\n    rules:\n        - r1\n    group-by:\n        - user\n    timespan: 5m\n    condition:\n        gte: 10\nlevel: high\n';
    const { rules, errors } = loadRulesFromText([rule('r1'), corr].join('---\n'), 'corr.yml');
    expect(errors).toEqual([]);
    expect(rules[1]).toMatchObject({
      kind: 'correlation',
      support: { supported: false, reason: 'unsupported: correlation' },
      correlation: {
        type: 'event_count',
        rules: ['r1'],
        groupBy: ['user'],
        timespan: '5m',
        condition: { gte: 10 },
      },
    });
    const set = compileRules(rules);
    expect(set.size).toBe(1);
    expect(set.errors).toEqual([]);
    expect(set.unsupported.map((u) => u.rule.id)).toEqual(['c1']);
  });

  it('reads folders recursively in sorted order and counts files', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sigma-load-'));
    try {
      mkdirSync(path.join(dir, 'sub'));
      writeFileSync(path.join(dir, 'b.yml'), rule('b'));
      writeFileSync(path.join(dir, 'a.yaml'), rule('a'));
      writeFileSync(path.join(dir, 'sub', 'c.yml'), rule('c'));
      writeFileSync(path.join(dir, 'notes.txt'), 'not a rule');
      const res = loadRules([dir, path.join(dir, 'missing.yml')]);
      expect(res.files).toBe(3);
      expect(res.rules.map((r) => r.id)).toEqual(['a', 'b', 'c']);
      expect(res.errors).toEqual([
        expect.objectContaining({ code: 'IO', file: path.join(dir, 'missing.yml') }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
