import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import * as cluster from '../../src/cluster/index.js';

const SRC = join(import.meta.dirname, '../../src/cluster');

test('src/cluster imports only src/hash and src/errors from the project (DESIGN.md, layers)', async () => {
  for (const file of await readdir(SRC)) {
    if (!file.endsWith('.ts')) continue;
    const text = await readFile(join(SRC, file), 'utf8');
    for (const m of text.matchAll(/from '(\.\.\/[^']+)'/g)) {
      expect(m[1], `${file} imports ${m[1]}`).toMatch(/^\.\.\/(hash\/index|errors)\.js$/);
    }
  }
});

test('index.ts re-exports the ring, claim, clock, object and spec APIs', () => {
  for (const name of [
    'validateRing', 'preflist', 'keyspacesOfVnode', 'indexNsOfVnode', 'keyspaceOf',
    'claim', 'minNodesForSafeClaim', 'makeClock', 'increment', 'compareClocks', 'mergeClocks',
    'keyToJson', 'keyFromJson', 'validateObjectKey', 'headOf',
    'parseClusterSpec', 'readClusterSpec', 'writeClusterSpec', 'defaultSpec', 'TREE_SIZE_NAMES',
  ]) {
    expect(cluster, name).toHaveProperty(name);
  }
});
