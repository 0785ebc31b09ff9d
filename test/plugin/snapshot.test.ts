import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import type { FoldSession } from '../../src/fold/index.js';
import { PluginHost } from '../../src/plugin/index.js';
import { withTempDir } from '../cli/helpers.js';
import { pluginSource, writePlugin } from './plugins.js';

/** Plugin code that records, at import, its version and the file it was imported from. */
const marking = (markers: string, version: string): string => `writeFileSync(${JSON.stringify(`${markers}/${version}-`)} + Math.random().toString(36).slice(2), import.meta.url);`;

async function imports(markers: string): Promise<Array<{ version: string; file: string }>> {
  const names = await readdir(markers);
  return Promise.all(names.map(async (n) => ({ version: n.split('-')[0]!, file: fileURLToPath(await readFile(join(markers, n), 'utf8')) })));
}

test('every worker of a version imports the files whose digest was checked, not what the directory holds later; the copy goes when the version retires', async () => {
  await withTempDir(async (dir) => {
    const plugins = join(dir, 'plugins');
    const markers = join(dir, 'markers');
    await mkdir(plugins);
    await mkdir(markers);
    await writePlugin(plugins, 'p', { name: 'p', version: '2.0.0', atImport: marking(markers, '2.0.0') });
    const host = await PluginHost.start({ dir: plugins, watch: false, pollMs: 0, limits: { threads: 2, callTimeoutMs: 10_000 } });
    const ac = new AbortController();
    const sessions: FoldSession[] = [];
    try {
      const digest = host.list().find((m) => m.name === 'p')?.plugin?.digest;
      // A newer copy the node refuses before running any of it: v2 serves on.
      await writePlugin(plugins, 'p', { name: 'p', version: '3.0.0', api: '^9.0.0', atImport: marking(markers, '3.0.0') });
      await host.rescan();
      expect(host.list().filter((m) => m.name === 'p').map((m) => [m.version, m.plugin?.state, m.plugin?.code, m.plugin?.digest])).toEqual([['2.0.0', 'serving', 'PLUGIN_API_MISMATCH', digest]]);

      // Two sessions at once: the second starts a new worker, which imports v2 now.
      const lease = host.acquire('p');
      sessions.push(await lease.module.open({}, { signal: ac.signal, node: 'n1' }));
      sessions.push(await lease.module.open({}, { signal: ac.signal, node: 'n1' }));
      const seen = await imports(markers);
      expect(seen.length).toBe(2);
      expect(seen.map((s) => s.version)).toEqual(['2.0.0', '2.0.0']);
      // Both from the version's own copy, outside the plugin directory.
      expect(seen.every((s) => !s.file.startsWith(plugins))).toBe(true);
      const copy = dirname(seen[0]!.file);
      expect(seen[1]!.file).toBe(seen[0]!.file);
      expect(existsSync(copy)).toBe(true);

      // Removed: the version retires, and once its folds let go its copy is deleted.
      for (const s of sessions.splice(0)) await s.finish('test');
      await rm(join(plugins, 'p'), { recursive: true });
      await host.rescan();
      lease.release();
      for (let i = 0; i < 100 && existsSync(copy); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(copy)).toBe(false);
    } finally {
      for (const s of sessions) s.close();
      ac.abort();
      await host.close();
    }
  });
}, 60_000);

test('a single-file .js plugin keeps its module type in its copy (the plugin directory\'s package.json says "module")', async () => {
  await withTempDir(async (dir) => {
    const plugins = join(dir, 'plugins');
    await mkdir(plugins);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const source = pluginSource({ name: 'one', version: '1.0.0' });
    await writeFile(join(plugins, 'one.js'), `// aae-plugin {"name": "one", "version": "1.0.0", "pluginApi": "^1.0.0"}\n${source}`);
    const host = await PluginHost.start({ dir: plugins, watch: false, pollMs: 0 });
    try {
      expect(host.list().find((m) => m.name === 'one')?.plugin).toMatchObject({ state: 'serving' });
    } finally {
      await host.close();
    }
  });
});
