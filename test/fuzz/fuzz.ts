import fc from 'fast-check';
import { properties } from './properties';

/**
 * Fuzz target: the CI properties for as long as asked (`npm run fuzz -- 10` = ten minutes), rotating
 * through them with fresh seeds and printing any counterexample with its seed and path for replay.
 */
const minutes = Number(process.argv[2] ?? process.env.CITYSOC_FUZZ_MINUTES ?? 1);
const deadline = Date.now() + minutes * 60_000;
let rounds = 0;
let failures = 0;
const runsPerRound = 2000;
while (Date.now() < deadline) {
  for (const p of properties) {
    if (Date.now() >= deadline) break;
    const seed = (Date.now() ^ (rounds * 7919)) | 0;
    // Printed before the run so that a hang (no counterexample to print) can still be replayed.
    if (process.env.CITYSOC_FUZZ_VERBOSE) console.error(`run ${p.name} seed ${seed}`);
    const r = fc.check(p.property as fc.IProperty<unknown>, { numRuns: runsPerRound, seed });
    if (r.failed) {
      failures++;
      console.error(
        `FAIL ${p.name}\n  seed ${r.seed} path ${r.counterexamplePath}\n  counterexample ${fc.stringify(r.counterexample)}\n  ${String(r.errorInstance)}`,
      );
    }
  }
  rounds++;
}
console.log(
  `fuzz: ${rounds} rounds × ${properties.length} properties × ${runsPerRound} cases in ${minutes} min, ${failures} failures`,
);
process.exitCode = failures > 0 ? 1 : 0;
