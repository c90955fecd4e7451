import fc from 'fast-check';
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
