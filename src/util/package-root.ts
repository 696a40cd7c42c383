// The package's root folder (where package.json is), found from a module's
// own location so that it holds in src/ (tsx) and in dist/src/ alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(moduleUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('orthogonium-ts: cannot find the package root');
    dir = parent;
  }
  return dir;
}
