/**
 * The package's own name and version, read once from its package.json (found by walking up from
 * this module: the same code runs from src/ under the tests and from dist/src/ when installed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function readPackage(): { name: string; version: string; root: string | undefined } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'tictac-aae' && typeof pkg.version === 'string') return { name: pkg.name, version: pkg.version, root: dir };
    }
    const up = dirname(dir);
    if (up === dir) return { name: 'tictac-aae', version: '0.0.0', root: undefined };
    dir = up;
  }
}

const pkg = readPackage();

export const PACKAGE_VERSION: string = pkg.version;
/** The package's root directory (package.json, proto/, fixtures/), or undefined if it cannot be found. */
export const PACKAGE_ROOT: string | undefined = pkg.root;
/** What a node says it runs, e.g. "tictac-aae 0.1.0". */
export const SOFTWARE = `${pkg.name} ${pkg.version}`;
