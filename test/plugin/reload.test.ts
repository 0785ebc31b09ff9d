import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { runFold } from '../../src/fold/index.js';
import { PluginHost, loadClientPlugin, type LogLine } from '../../src/plugin/index.js';
import { withTempDir } from '../cli/helpers.js';
import { writePlugin } from './plugins.js';

/** Waits for a condition the host reaches on its own (a watched change); the test's own timeout bounds it. */
async function until(what: string, ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 25));
  expect(ok(), what).toBe(true);
}

test('hot reload: a fold running on the old version finishes on it, new requests get the new one, a broken copy leaves the last good one serving, a removed plugin stops serving', async () => {
  await withTempDir(async (dir) => {
    const plugins = join(dir, 'plugins');
    await mkdir(plugins);
    const gate = join(dir, 'gate');
    const started = join(dir, 'started');
    // v1 holds its first flush until the gate file exists, after saying it has begun.
    await writePlugin(plugins, 'gated', {
      name: 'gated',
      version: '1.0.0',
      onFlush: `writeFileSync(${JSON.stringify(started)}, 'x'); while (!existsSync(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 20));`,
    });
    const lines: LogLine[] = [];
    const host = await PluginHost.start({ dir: plugins, limits: { callTimeoutMs: 60_000, threads: 2 }, log: (l) => lines.push(l), pollMs: 250 });
    const cluster = await EmbeddedCluster.create(join(dir, 'c1'), defaultSpec('r1', { nodeCount: 2, ringSize: 8, nVal: 2 }), { source: host });
    try {
      await cluster.putMany(Array.from({ length: 200 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: new Uint8Array(10) })));
      const v1 = await loadClientPlugin(plugins, 'gated');
      const running = runFold(cluster, v1.module, {}, { offset: 0, digest: v1.digest });
      running.catch(() => undefined);
      await until('the v1 fold is inside its flush', () => existsSync(started));

      // Deploy v2 over it while the v1 fold waits: the watcher reloads without being asked.
      await writePlugin(plugins, 'gated', { name: 'gated', version: '2.0.0' });
      const states = (): string[] => host.list().filter((m) => m.name === 'gated').map((m) => `${m.version}:${m.plugin?.state}`).sort();
      await until('v2 serves and v1 retires', () => states().join(',') === '1.0.0:retiring,2.0.0:serving');
      const v2 = await loadClientPlugin(plugins, 'gated');
      const fresh = await runFold(cluster, v2.module, {}, { offset: 0, digest: v2.digest });
      expect(fresh.acc).toEqual({ count: 200, bytes: 2000, version: '2.0.0' });
      // The old copy is refused for new requests: the node no longer has 1.0.0 to give.
      await expect(runFold(cluster, v1.module, {}, { offset: 0 })).rejects.toMatchObject({ code: 'FOLD_VERSION_UNSATISFIED' });

      await writeFile(gate, 'open');
      expect((await running).acc).toEqual({ count: 200, bytes: 2000, version: '1.0.0' });
      await until('v1 retired once its fold let go', () => states().join(',') === '2.0.0:serving');
      expect(lines.some((l) => l.code === 'PL005' && l.fields['version'] === '1.0.0')).toBe(true);

      // A broken v3: refused with its reason, and v2 serves on carrying it.
      const folder = join(plugins, 'gated');
      await writePlugin(plugins, 'gated', { name: 'gated', version: '3.0.0', atImport: 'this is not javascript' });
      await until('v3 refused, v2 serving with the reason', () => host.list().some((m) => m.name === 'gated' && m.version === '2.0.0' && m.plugin?.code === 'PLUGIN_INVALID'));
      expect(lines.some((l) => l.code === 'PL003' && l.fields['keepsServing'] === '2.0.0')).toBe(true);
      expect((await runFold(cluster, v2.module, {}, { offset: 1, digest: v2.digest })).acc).toMatchObject({ version: '2.0.0' });

      await rm(folder, { recursive: true });
      await until('removed: nothing named gated serves', () => !host.list().some((m) => m.name === 'gated' && m.plugin?.state === 'serving'));
      await expect(runFold(cluster, v2.module, {}, { offset: 0 })).rejects.toMatchObject({ code: 'FOLD_MODULE_UNKNOWN' });
    } finally {
      await cluster.close();
      await host.close();
    }
  });
}, 120_000);
