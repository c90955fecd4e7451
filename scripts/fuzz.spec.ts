import fc from 'fast-check';
import { compileRules, loadRulesFromText } from '@citysoc/sigma';
import { properties } from '../test/fuzz/properties';

/**
 * The property-based hardening tests, bounded for CI: CITYSOC_FUZZ_RUNS cases per property (default 300)
 * from a seed printed on failure. The open-ended fuzz target runs the same properties: npm run fuzz.
 */
const runs = Number(process.env.CITYSOC_FUZZ_RUNS ?? 300);

describe('parsers on arbitrary input', () => {
  it.each(properties.map((p) => [p.name, p] as const))('%s', (_name, p) => {
    fc.assert(p.property as fc.IProperty<unknown>, { numRuns: runs });
  });
});

/** Findings of the properties, kept as plain regression cases. */
describe('fuzz findings', () => {
  it.each(['([', 'EM>Ys(2[', 'a(b[c', '(?:x[)'])(
    'a |re value with an unclosed class inside a group (%s) compiles to a result instead of looping',
    (re) => {
      const text = `title: t\nid: 5d8c1f4e-0000-4000-8000-000000000000\nlogsource: {product: linux}\ndetection:\n  sel:\n    x|re: ${JSON.stringify(re)}\n  condition: sel\nlevel: low\n`;
      const { rules } = loadRulesFromText(text, 'f.yml');
      expect(rules).toHaveLength(1);
      const set = compileRules(rules);
      expect(set.match({ x: 'zz' })).toEqual([]);
    },
  );
});
