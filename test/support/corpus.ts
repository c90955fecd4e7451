import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './root';

/** The shared test corpus (never copied into the repo): CITYSOC_CORPUS_DIR or ../shared/corpus. */
export function corpusDir(): string | undefined {
  const dir = process.env.CITYSOC_CORPUS_DIR ?? path.resolve(repoRoot(), '..', 'shared', 'corpus');
  return existsSync(dir) ? dir : undefined;
}
