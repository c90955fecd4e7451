import { existsSync } from 'node:fs';
import path from 'node:path';

/** The installation's root (the folder with package.json), from sources or from dist/ alike. */
export function projectRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}
