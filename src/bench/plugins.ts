import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultSpec } from '../cluster/index.js';
import { EmbeddedCluster } from '../coordinator/index.js';
import { objectStats, runFold, type ModuleSource } from '../fold/index.js';
import { DEFAULT_TUNING, PluginHost, loadClientPlugin, type SessionTuning } from '../plugin/index.js';
import { machineInfo, round, type BenchFigure, type BenchReport } from './report.js';
import type { BenchOptions, BenchSuite } from './suite.js';
import { FOLD_LOAD_BATCH, FOLD_N_VAL, FOLD_NODES, FOLD_OBJECTS, FOLD_RING_SIZE, foldObjects } from './fold-workload.js';

/**
 * `aae bench plugins`: what isolation costs. Over one embedded 3-node cluster of N objects (the fold
 * bench's shape), in the same run:
 * - `object_stats` built in (its fold in the node's thread) against the very same module loaded as a
 *   plugin (`object_stats_plugin`: the built-in's code behind a plugin manifest), run in the plugin
 *   host's worker threads: the store read on the main thread, each batch packed into a transferred
 *   buffer, the worker folding one batch while the next is read. Target: ≥ 0.8 × the built-in's rate.
 *   Rounds alternate them, each keeping its best (the machine is shared). Two more plugin runs
 *   measure what the defaults buy: batches sent by structured clone instead of packed, and no
 *   batch in flight while the next is read (each batch answered before the next is read).
 * - reload latency: a new version's files renamed into the plugin directory → that version serving
 *   (the watcher's event, the debounce, a new pool, a worker importing and validating it). The
 *   median and the worst of RELOADS reloads.
 */
const RUNS = 5;
const RELOADS = 7;

/** The fold layer's compiled index, which the bench's plugin imports (a worker cannot load TypeScript). */
function foldIndexUrl(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? join(here, '../../../dist/src/fold/index.js') : join(here, '../../fold/index.js');
  return pathToFileURL(file).href;
}

/** Writes object_stats_plugin at `version` into the plugin directory, atomically (a temporary folder renamed into place). */
async function deploy(pluginDir: string, version: string): Promise<void> {
  await mkdir(pluginDir, { recursive: true });
  const tmp = join(pluginDir, `.deploy-${version}`);
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'package.json'), JSON.stringify({ name: 'object_stats_plugin', version, type: 'module', main: 'index.js', aae: { pluginApi: '^1.0.0' } }));
  await writeFile(
    join(tmp, 'index.js'),
    `import { objectStats } from ${JSON.stringify(foldIndexUrl())};\nexport default () => ({ ...objectStats, name: 'object_stats_plugin', version: ${JSON.stringify(version)} });\n`,
  );
  const target = join(pluginDir, 'object_stats_plugin');
  await rm(join(pluginDir, '.old'), { recursive: true, force: true });
  await rename(target, join(pluginDir, '.old')).catch(() => undefined);
  await rename(tmp, target);
}

export const pluginsBench: BenchSuite = {
  name: 'plugins',
  description: 'object_stats as a plugin in worker threads against the built-in over the same objects; plugin reload latency',
  async run(options: BenchOptions): Promise<BenchReport> {
    const n = Math.max(1000, Math.round(FOLD_OBJECTS * options.scale));
    const runs = options.scale < 0.1 ? 1 : RUNS;
    const reloads = options.scale < 0.1 ? 2 : RELOADS;
    const dir = await mkdtemp(join(tmpdir(), 'aae-bench-plugins-'));
    let cluster: EmbeddedCluster | undefined;
    const hosts: PluginHost[] = [];
    try {
      const pluginDir = join(dir, 'plugins');
      await deploy(pluginDir, '1.0.0');
      // The same plugin under three hosts: the defaults, structured clone, no batch in flight.
      const variants: Array<{ name: string; tuning: SessionTuning }> = [
        { name: 'object_stats_plugin', tuning: DEFAULT_TUNING },
        { name: 'object_stats_plugin, batches by structured clone', tuning: { ...DEFAULT_TUNING, packed: false } },
        { name: 'object_stats_plugin, no batch in flight while reading', tuning: { ...DEFAULT_TUNING, inFlight: 0 } },
      ];
      for (const [i, v] of variants.entries()) {
        const at = i === 0 ? pluginDir : join(dir, `plugins-${i}`);
        if (i > 0) await deploy(at, '1.0.0');
        // pollMs 0: reloads are measured on the watcher's events alone.
        hosts.push(await PluginHost.start({ dir: at, pollMs: 0, watch: i === 0, tuning: v.tuning }));
      }
      const host = hosts[0]!;
      let current: ModuleSource = host;
      const source: ModuleSource = { acquire: (a, b, c) => current.acquire(a, b, c), list: () => current.list() };
      cluster = await EmbeddedCluster.create(join(dir, 'bench'), defaultSpec('bench', { ringSize: FOLD_RING_SIZE, nVal: FOLD_N_VAL, nodeCount: FOLD_NODES, treeSize: 'large' }), { source });
      const t0 = performance.now();
      await cluster.putMany(foldObjects(n), { batchSize: FOLD_LOAD_BATCH });
      options.log(`plugins: loaded ${n} objects in ${Math.round((performance.now() - t0) / 1000)} s`);
      const c = cluster;
      const copy = await loadClientPlugin(pluginDir, 'object_stats_plugin');

      const timed = [
        { name: 'object_stats built in', run: async () => (await runFold(c, objectStats, {}, { offset: 0 })).items },
        ...variants.map((v, i) => ({
          name: v.name,
          run: async () => {
            current = hosts[i]!;
            try {
              return (await runFold(c, copy.module, {}, { offset: 0, version: copy.manifest.version, digest: copy.digest })).items;
            } finally {
              current = host;
            }
          },
        })),
      ];
      // One untimed run of each: the plugin's workers have imported it, the store's caches are warm for all.
      for (const t of timed) await t.run();
      const best = timed.map(() => Infinity);
      for (let r = 0; r < runs; r++) {
        const ms: number[] = [];
        for (let j = 0; j < timed.length; j++) {
          const i = (r + j) % timed.length;
          const t1 = performance.now();
          const items = await timed[i]!.run();
          ms[i] = performance.now() - t1;
          if (items !== n) throw new Error(`${timed[i]!.name} saw ${items} entries, expected ${n}`);
          best[i] = Math.min(best[i]!, ms[i]!);
        }
        options.log(`plugins: round ${r + 1} of ${runs}: ${timed.map((t, i) => `${t.name} ${Math.round(n / (ms[i]! / 1000))}/s`).join(', ')}`);
      }
      const builtinRate = n / (best[0]! / 1000);
      const pluginRate = n / (best[1]! / 1000);
      const ratio = round(pluginRate / builtinRate, 3);
      const builtin = { name: 'object_stats built in, the same objects', value: Math.round(builtinRate), unit: 'entries/s' };
      const variant = (i: number): BenchFigure => {
        const rate = n / (best[i]! / 1000);
        return { name: timed[i]!.name, value: Math.round(rate), unit: 'entries/s', baseline: builtin, ratio: round(rate / builtinRate, 3), ratioMeaning: 'plugin rate / built-in rate' };
      };

      // Reloads: a new version renamed in → the host serves it.
      const latencies: number[] = [];
      for (let i = 0; i < reloads; i++) {
        const version = `1.0.${i + 1}`;
        const t1 = performance.now();
        await deploy(pluginDir, version);
        const h = hosts[0]!;
        while (!h.list().some((m) => m.name === 'object_stats_plugin' && m.version === version && m.plugin?.state === 'serving')) await new Promise((res) => setTimeout(res, 2));
        latencies.push(performance.now() - t1);
      }
      latencies.sort((a, b) => a - b);
      const median = latencies[Math.floor(latencies.length / 2)]!;
      const worst = latencies[latencies.length - 1]!;
      options.log(`plugins: reloads ${latencies.map((l) => Math.round(l)).join(', ')} ms`);

      return {
        suite: 'plugins',
        machine: machineInfo(),
        params: { objects: n, ringSize: FOLD_RING_SIZE, nVal: FOLD_N_VAL, nodes: FOLD_NODES, runs, reloads, pluginThreads: 2 },
        figures: [
          {
            name: 'object_stats as a plugin (worker threads), whole cluster',
            value: Math.round(pluginRate),
            unit: 'entries/s',
            baseline: builtin,
            ratio,
            ratioMeaning: 'plugin rate / built-in rate',
            target: '≥ 0.8 × built-in',
            met: ratio >= 0.8,
          },
          variant(2),
          variant(3),
          {
            name: 'plugin reload: new files renamed in → new version serving (median)',
            value: round(median, 1),
            unit: 'ms',
            baseline: { name: 'worst of the reloads', value: round(worst, 1), unit: 'ms' },
            ratio: round(median / worst, 3),
            ratioMeaning: 'median / worst',
          },
        ],
      };
    } finally {
      await cluster?.close();
      for (const h of hosts) await h.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
