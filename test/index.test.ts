import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';
import * as api from '../src/index.js';

const ROOT = resolve(import.meta.dirname, '..');

/** The README's library example, as the README shows it: the first ts block under "Using the library". */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using the library'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (m === null) throw new Error('README.md has no ts example under "Using the library"');
  return m[1]!;
}

test("the README's library example runs as written against the package root, and leaves the clusters in sync", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aae-readme-'));
  try {
    // The example opens ./dc1, made earlier by the README's CLI steps: make it here.
    const made = await api.EmbeddedCluster.create(join(dir, 'dc1'), api.defaultSpec('dc1', { nodeCount: 4, ringSize: 64, nVal: 3 }));
    await made.close();
    const code = (await readmeExample())
      .replaceAll("'tictac-aae'", JSON.stringify(join(ROOT, 'src/index.ts')))
      .replaceAll("'./dc1'", JSON.stringify(join(dir, 'dc1')))
      .replaceAll("'./dr1'", JSON.stringify(join(dir, 'dr1')));
    expect(code).toContain(join(dir, 'dr1'));
    const file = join(dir, 'example.ts');
    await writeFile(file, code);
    await import(file);
    const [dc1, dr1] = [await api.EmbeddedCluster.open(join(dir, 'dc1')), await api.EmbeddedCluster.open(join(dir, 'dr1'))];
    try {
      expect(new TextDecoder().decode((await dr1.get('users', 'alice'))!.value)).toBe('{"city":"Leeds"}');
      expect((await api.compareClusters(dc1, dr1, { pauseMs: 0 })).inSync).toBe(true);
    } finally {
      await dc1.close();
      await dr1.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the root exports the everyday API, and the subpaths of package.json exist', async () => {
  for (const name of ['EmbeddedCluster', 'Cluster', 'compareClusters', 'repairClusters', 'runFold', 'AaeError', 'NODE_CONTRACT', 'sync'] as const) {
    expect(api[name], name).toBeDefined();
  }
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }> };
  for (const [sub, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    const src = join(ROOT, target.default.replace('./dist/src/', 'src/').replace(/\.js$/, '.ts'));
    const mod = (await import(src)) as Record<string, unknown>;
    expect(Object.keys(mod).length, `${sub} exports something`).toBeGreaterThan(0);
  }
});
