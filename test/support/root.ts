import { existsSync } from 'node:fs';
import path from 'node:path';

/** The checkout's root, found from here whether this runs from sources (jest) or from dist/ (bench). */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
}
