import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultSpec, type ClusterSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { aae } from '../cli/helpers.js';
import { clientDir, serveNode, type ServedNode } from '../support/served.js';
import { HOG, LOOP, THROW, writePlugin } from './plugins.js';

/**
 * Plugins on served nodes: two `aae node serve --plugins DIR` processes, each with a plugin
 * directory of its own, and the CLI (in this process) as the coordinator with its own copies.
 */
let dir: string;
let spec: ClusterSpec;
let nodes: ServedNode[] = [];
let client: string;
const copies = (): string => join(dir, 'copies');

interface Listed {
  nodes: Array<{ node: string; reachable: boolean; modules: Array<{ name: string; version: string; plugin?: { state: string; code?: string; apiRange: string } }> }>;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-plugins-served-'));
  spec = defaultSpec('ps', { nodeCount: 2, ringSize: 8, nVal: 2, treeSize: 'xxsmall' });
  const c = await EmbeddedCluster.create(join(dir, 'server'), spec);
  await c.putMany(Array.from({ length: 120 }, (_, i) => ({ bucket: i % 2 === 0 ? 'even' : 'odd', key: `k${i}`, value: new Uint8Array(i % 7) })));
  await c.close();
  for (const n of spec.nodes) {
    const p = join(dir, `plugins-${n}`);
    await mkdir(p);
    await writePlugin(p, 'counter', { name: 'counter', version: '1.0.0' });
    await writePlugin(p, 'future', { name: 'future', version: '1.0.0', api: '>=2.0.0' });
    await writePlugin(p, 'thrower', { name: 'thrower', version: '1.0.0', onItem: THROW });
    await writePlugin(p, 'looper', { name: 'looper', version: '1.0.0', onItem: LOOP });
    await writePlugin(p, 'hog', { name: 'hog', version: '1.0.0', onItem: HOG });
  }
  await mkdir(copies());
  for (const [name, onItem] of [['counter', undefined], ['thrower', THROW], ['looper', LOOP], ['hog', HOG]] as const) {
    await writePlugin(copies(), name, { name, version: '1.0.0', ...(onItem === undefined ? {} : { onItem }) });
  }
  nodes = await Promise.all(
    spec.nodes.map((n) =>
      serveNode(join(dir, 'server'), n, { flags: ['--insecure', '--plugins', join(dir, `plugins-${n}`), '--plugin-timeout', '3000', '--plugin-memory', '64', '--metrics-listen', '127.0.0.1:0', '--log-level', 'info'] }),
    ),
  );
  client = await clientDir(join(dir, 'client'), spec, Object.fromEntries(nodes.map((n) => [n.name, n.address])));
}, 120_000);

afterAll(async () => {
  for (const n of nodes) n.process.kill('SIGTERM');
  await Promise.all(nodes.map((n) => n.exited));
  await rm(dir, { recursive: true, force: true });
});

describe('plugins on served nodes', () => {
  test('every node loads its plugins at start, refuses one built for another plugin API with PL002, and serves on', async () => {
    const r = await aae('plugins', client, '--json');
    expect(r.code).toBe(0);
    for (const n of r.json<Listed>().nodes) {
      const byName = new Map(n.modules.map((m) => [m.name, m]));
      expect(byName.get('counter')?.plugin).toMatchObject({ state: 'serving', apiRange: '^1.0.0' });
      expect(byName.get('future')?.plugin).toMatchObject({ state: 'refused', code: 'PLUGIN_API_MISMATCH', apiRange: '>=2.0.0' });
    }
    for (const n of nodes) expect(n.log()).toMatch(/"code":"PL002"[^\n]*"plugin":"future"/);
    const table = await aae('plugins', client);
    expect(table.stdout).toMatch(/counter\s*│\s*1\.0\.0\s*│\s*\^1\.0\.0\s*│\s*serving/);
  });

  test('aae fold runs a plugin across the coverage plan, with the same counts as object_stats', async () => {
    const plugin = await aae('fold', client, 'counter', '--plugins', copies(), '--query', '{"bucket": "even"}', '--json');
    expect(plugin.code, plugin.stderr).toBe(0);
    const stats = await aae('fold', client, 'object_stats', '--query', '{"bucket": "even"}', '--json');
    const s = stats.json<{ result: { count: number; totalBytes: number } }>().result;
    expect(plugin.json<{ result: unknown }>().result).toEqual({ count: s.count, bytes: s.totalBytes, version: '1.0.0' });
  });

  test('a version constraint no copy or node satisfies is a coded refusal, never another version', async () => {
    const none = await aae('fold', client, 'counter', '--plugins', copies(), '--version', '^2.0.0');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/FOLD_VERSION_UNSATISFIED/);
    // A coordinator copy at 1.1.0: the nodes have only 1.0.0, and say so.
    const newer = join(dir, 'copies-newer');
    await mkdir(newer);
    await writePlugin(newer, 'counter', { name: 'counter', version: '1.1.0' });
    const refused = await aae('fold', client, 'counter', '--plugins', newer);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/FOLD_VERSION_UNSATISFIED/);
    expect(refused.stderr).toMatch(/1\.0\.0/);
    // Same version, other files: the accumulators could differ in format, so the nodes refuse.
    const other = join(dir, 'copies-other');
    await mkdir(other);
    await writePlugin(other, 'counter', { name: 'counter', version: '1.0.0', onItem: '/* edited without a new version */' });
    const mismatch = await aae('fold', client, 'counter', '--plugins', other);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/PLUGIN_MISMATCH/);
  });

  test('a throwing, a looping and a memory-hungry plugin each fail their own fold with a code; the nodes serve on', async () => {
    for (const [name, code] of [
      ['thrower', 'FOLD_MODULE_FAILED'],
      ['looper', 'PLUGIN_TIMEOUT'],
      ['hog', 'PLUGIN_CRASHED'],
    ] as const) {
      const r = await aae('fold', client, name, '--plugins', copies());
      expect(r.code, `${name}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(new RegExp(code));
      const ok = await aae('fold', client, 'counter', '--plugins', copies(), '--json');
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.json<{ result: { count: number } }>().result.count).toBe(120);
    }
    for (const n of nodes) expect(n.process.exitCode).toBeNull();
    const logs = nodes.map((n) => n.log()).join('\n');
    expect(logs).toMatch(/"code":"PL006"[^\n]*"error":"PLUGIN_TIMEOUT"/);
    expect(logs).toMatch(/"code":"PL006"[^\n]*"error":"PLUGIN_CRASHED"/);
    // Per-plugin metrics on each node's /metrics.
    const metrics = await Promise.all(
      nodes.map(async (n) => {
        const at = /"code":"NS010"[^\n]*"address":"([^"]+)"/.exec(n.log())![1]!;
        return (await fetch(`http://${at}/metrics`)).text();
      }),
    );
    const all = metrics.join('\n');
    expect(all).toMatch(/aae_plugin_calls_total\{module="counter",version="1.0.0"\} [1-9]/);
    expect(all).toMatch(/aae_plugin_errors_total\{module="thrower",version="1.0.0",code="FOLD_MODULE_FAILED"\} [1-9]/);
    expect(all).toMatch(/aae_plugin_workers_replaced_total\{module="looper",code="PLUGIN_TIMEOUT"\} [1-9]/);
    expect(all).toMatch(/aae_plugin_refusals_total\{module="counter",code="FOLD_VERSION_UNSATISFIED"\} [1-9]/);
    expect(all).toMatch(/aae_plugin_call_seconds_count\{module="counter"\} [1-9]/);
    expect(all).toMatch(/aae_plugins\{state="refused"\} 1/);
  }, 120_000);

  test('a plugin changed on a node is served at its new version without a restart', async () => {
    for (const n of spec.nodes) await writePlugin(join(dir, `plugins-${n}`), 'counter', { name: 'counter', version: '1.2.0' });
    const fresh = join(dir, 'copies-1.2');
    await mkdir(fresh);
    await writePlugin(fresh, 'counter', { name: 'counter', version: '1.2.0' });
    // The nodes pick the change up on their own; until they have, the fold is refused (coded), never wrong.
    for (;;) {
      const r = await aae('fold', client, 'counter', '--plugins', fresh, '--json');
      if (r.code === 0) {
        expect(r.json<{ result: { version: string } }>().result.version).toBe('1.2.0');
        break;
      }
      expect(r.stderr).toMatch(/FOLD_VERSION_UNSATISFIED/);
      await new Promise((res) => setTimeout(res, 100));
    }
    // A plan may not ask every node: wait until each lists the new version, then read its log.
    const serving = async (): Promise<boolean> =>
      (await aae('plugins', client, '--json')).json<Listed>().nodes.every((n) => n.modules.some((m) => m.name === 'counter' && m.version === '1.2.0' && m.plugin?.state === 'serving'));
    while (!(await serving())) await new Promise((res) => setTimeout(res, 100));
    for (const n of nodes) expect(n.log()).toMatch(/"code":"PL001"[^\n]*"version":"1.2.0"[^\n]*"replaces":"1.0.0"/);
  }, 60_000);
});
