import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { isAaeError } from '../../src/errors.js';
import { objectStats, runFold, type AnyFoldModule } from '../../src/fold/index.js';
import { PluginHost, loadClientPlugin, type LogLine } from '../../src/plugin/index.js';
import { withTempDir } from '../cli/helpers.js';
import { HOG, LOOP, THROW, writePlugin } from './plugins.js';

/**
 * The plugin host in this process, under an embedded cluster whose nodes take their modules from
 * it: every plugin runs in its worker pool exactly as on a served node (the served tests in
 * served.test.ts run `aae node serve --plugins` processes).
 */
let dir: string;
let cleanup: () => Promise<void>;
let cluster: EmbeddedCluster;
let host: PluginHost;
const lines: LogLine[] = [];
const plugins = (): string => join(dir, 'plugins');

beforeAll(async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const done = withTempDir(async (d) => {
    dir = d;
    ready();
    await held;
  });
  await isReady;
  cleanup = async () => {
    release();
    await done;
  };
  await mkdir(plugins());
  await writePlugin(plugins(), 'counter', { name: 'counter', version: '1.0.0' });
  await writePlugin(plugins(), 'future', { name: 'future', version: '1.0.0', api: '^2.0.0', atImport: `writeFileSync(${JSON.stringify(join(dir, 'future-ran'))}, 'x');` });
  await writePlugin(plugins(), 'thrower', { name: 'thrower', version: '1.0.0', onItem: THROW });
  await writePlugin(plugins(), 'looper', { name: 'looper', version: '1.0.0', onItem: LOOP });
  await writePlugin(plugins(), 'hog', { name: 'hog', version: '1.0.0', onItem: HOG });
  await writePlugin(plugins(), 'eraser', { name: 'eraser', version: '1.0.0', mutates: true });
  host = await PluginHost.start({ dir: plugins(), limits: { callTimeoutMs: 3000, memoryMb: 64, threads: 1 }, log: (l) => lines.push(l), watch: false, pollMs: 0 });
  const spec = defaultSpec('p1', { nodeCount: 2, ringSize: 8, nVal: 2 });
  cluster = await EmbeddedCluster.create(join(dir, 'c1'), spec, { source: host });
  await cluster.putMany(Array.from({ length: 300 }, (_, i) => ({ bucket: `b${i % 3}`, key: `k${i}`, value: new Uint8Array(i % 50) })));
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  await host?.close();
  await cleanup?.();
});

async function fold(module: AnyFoldModule, query: unknown = {}, digest?: string): Promise<unknown> {
  return (await runFold(cluster, module, query, { offset: 0, ...(digest === undefined ? {} : { digest }) })).acc;
}

describe('a plugin directory', () => {
  test('loads its plugins at start, and a fold runs them on the nodes: the same counts as object_stats', async () => {
    const client = await loadClientPlugin(plugins(), 'counter');
    const acc = (await fold(client.module, { bucket: 'b1' }, client.digest)) as { count: number; bytes: number; version: string };
    const stats = (await fold(objectStats, { bucket: 'b1' })) as { count: number; totalBytes: number };
    expect(acc).toEqual({ count: stats.count, bytes: stats.totalBytes, version: '1.0.0' });
    expect(lines.some((l) => l.code === 'PL001' && l.fields['plugin'] === 'counter')).toBe(true);
  });

  test('a plugin built for another plugin API is refused, listed with its reason, and none of its code ran', async () => {
    expect(existsSync(join(dir, 'future-ran'))).toBe(false);
    const listed = host.list().find((m) => m.name === 'future');
    expect(listed?.plugin).toMatchObject({ state: 'refused', apiRange: '^2.0.0', code: 'PLUGIN_API_MISMATCH' });
    expect(lines.some((l) => l.code === 'PL002' && l.fields['plugin'] === 'future')).toBe(true);
    expect(() => host.acquire('future')).toThrowError(expect.objectContaining({ code: 'PLUGIN_API_MISMATCH' }) as Error);
  });

  test('a mutating plugin is refused on a node that does not allow them (PL008)', () => {
    expect(host.list().find((m) => m.name === 'eraser')?.plugin).toMatchObject({ state: 'refused', code: 'FOLD_MUTATION_REFUSED' });
  });

  test('a request for a version no copy satisfies, or with another digest, is refused with a code — never another version', async () => {
    const client = await loadClientPlugin(plugins(), 'counter');
    await expect(runFold(cluster, client.module, {}, { version: '^2.0.0' })).rejects.toMatchObject({ code: 'FOLD_VERSION_UNSATISFIED' });
    await expect(runFold(cluster, client.module, {}, { digest: 'f'.repeat(64) })).rejects.toMatchObject({ code: 'PLUGIN_MISMATCH' });
  });

  test.each([
    ['thrower', 'FOLD_MODULE_FAILED'],
    ['looper', 'PLUGIN_TIMEOUT'],
    ['hog', 'PLUGIN_CRASHED'],
  ])('%s fails its own call with %s, and the node serves the next fold on a new worker', async (name, code) => {
    const bad = await loadClientPlugin(plugins(), name);
    const e = await runFold(cluster, bad.module, {}, { offset: 0 }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isAaeError(e) ? e.code : e).toBe(code);
    // The same plugin again: a fresh worker, the same coded failure (not a hang, not a dead pool).
    const again = await runFold(cluster, bad.module, {}, { offset: 1 }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isAaeError(again) ? again.code : again).toBe(code);
    const good = await loadClientPlugin(plugins(), 'counter');
    expect(((await fold(good.module)) as { count: number }).count).toBe(300);
  });
});
