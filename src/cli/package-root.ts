import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root directory (where package.json and fixtures/ are), found by walking up from
 * this module: the same code runs from src/ under the tests and from dist/src/ when installed.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'fixtures'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the tictac-aae package root');
    dir = up;
  }
}
