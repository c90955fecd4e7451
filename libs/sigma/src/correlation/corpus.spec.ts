import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { loadRules } from '../load';
import { CorrelationEngine } from './engine';

/**
 * Correlation documents found in the shared SigmaHQ corpus must load and compile into the engine without
 * errors. The corpus is not part of the repository; the suite says so and skips when it is absent.
 */
const repoRoot = path.resolve(__dirname, '../../../..');
const corpusDir = process.env['CITYSOC_CORPUS_DIR'] ?? path.resolve(repoRoot, '../shared/corpus');
const sigmaDir = path.join(corpusDir, 'sigma');
const present = existsSync(sigmaDir);
if (!present) console.warn(`correlation corpus test skipped: ${sigmaDir} not found (set CITYSOC_CORPUS_DIR)`);

function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml$/i.test(e.name)) out.push(p);
  }
  return out;
}

(present ? describe : describe.skip)('correlation rules of the SigmaHQ corpus', () => {
  it('load and compile into the correlation engine without errors', () => {
    const files = yamlFiles(sigmaDir).filter((f) => /^correlation:/m.test(readFileSync(f, 'utf8')));
    if (files.length === 0) {
      console.warn(`no correlation documents under ${sigmaDir}; nothing to check`);
      return;
    }
    // Correlations reference rules by id or name anywhere in the corpus, so every rule is in scope.
    const folders = readdirSync(sigmaDir)
      .filter((n) => n.startsWith('rules'))
      .map((n) => path.join(sigmaDir, n));
    const loaded = loadRules([...new Set([...folders, ...files])]);
    const correlations = loaded.rules.filter((r) => r.kind === 'correlation');
    const engine = new CorrelationEngine(correlations, loaded.rules);
    console.log(`corpus correlations: ${files.length} files, ${correlations.length} correlation rules`);
    expect(loaded.errors.filter((e) => files.includes(e.file))).toEqual([]);
    expect(engine.errors).toEqual([]);
  });
});
