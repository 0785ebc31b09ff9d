import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const SRC = join(import.meta.dirname, '../../src/store');

test('src/store imports only node (the contract types), tictac, cluster, hash, errors and process-alive from the project (docs/ARCHITECTURE.md)', async () => {
  for (const file of await readdir(SRC)) {
    if (!file.endsWith('.ts')) continue;
    const text = await readFile(join(SRC, file), 'utf8');
    for (const m of text.matchAll(/from '(\.\.\/[^']+)'/g)) {
      expect(m[1], `${file} imports ${m[1]}`).toMatch(/^\.\.\/(node|tictac|cluster|hash)\/[a-z0-9-]+\.js$|^\.\.\/(errors|process-alive)\.js$/);
    }
    for (const m of text.matchAll(/from '([^.'][^']*)'/g)) {
      expect(m[1], `${file} imports ${m[1]}`).toMatch(/^(node:.+|level)$/);
    }
  }
});
