import * as fs from 'node:fs';
import * as path from 'node:path';
import { scoreElastic } from './elastic-conformance';

/**
 * Elastic's expected ECS documents scored on the core fields, per package. Floors live in
 * test-data/elastic-floors.json; raise them when a change improves a score, never lower them to pass.
 */
const repoRoot = path.resolve(__dirname, '../../..');
const corpusRoot = process.env.CITYSOC_CORPUS_DIR ?? path.resolve(repoRoot, '../shared/corpus');
const elasticDir = path.join(corpusRoot, 'syslog', 'elastic');
const present = fs.existsSync(path.join(elasticDir, 'manifest.json'));
if (!present) console.warn(`elastic conformance skipped: no corpus at ${elasticDir}`);
const floorsFile = path.resolve(__dirname, '../test-data/elastic-floors.json');

(present ? describe : describe.skip)('Elastic integration expectations', () => {
  const scores = present ? scoreElastic(elasticDir) : [];
  const floors = (JSON.parse(fs.readFileSync(floorsFile, 'utf8')) as { floors: Record<string, number> })
    .floors;

  it('are scored per package', () => {
    let matched = 0;
    let total = 0;
    const rows = scores.map((s) => {
      matched += s.matched;
      total += s.total;
      return `${s.package.padEnd(20)} ${((100 * s.matched) / s.total).toFixed(1).padStart(5)}%  ${s.matched}/${s.total} values, ${s.docs} docs`;
    });
    rows.push(
      `${'all'.padEnd(20)} ${((100 * matched) / total).toFixed(1).padStart(5)}%  ${matched}/${total}`,
    );
    console.log(`core-field conformance:\n${rows.join('\n')}`);
    if (process.env.CITYSOC_CONFORMANCE_VERBOSE === '1') {
      for (const s of scores)
        for (const m of s.misses)
          console.log(
            `${m.file}:${m.line} ${m.field} want ${JSON.stringify(m.expected)} got ${JSON.stringify(m.actual)}`,
          );
    }
    expect(scores.length).toBeGreaterThan(0);
  });

  it.each(scores.map((s) => [s.package, s] as const))('%s does not regress below its floor', (_p, s) => {
    const floor = floors[s.package] ?? 0;
    expect((100 * s.matched) / s.total).toBeGreaterThanOrEqual(floor);
  });
});
