import { existsSync } from 'node:fs';
import path from 'node:path';

/** The shared test corpus (never copied into the repo): CITYSOC_CORPUS_DIR or ../shared/corpus. */
export function corpusDir(): string | undefined {
  const dir = process.env.CITYSOC_CORPUS_DIR ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'corpus');
  return existsSync(dir) ? dir : undefined;
}
