import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareClusters, repairClusters, twoClusterBackend } from '../aae/index.js';
import { defaultSpec, makeClock, type ObjectKey } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { repairKeys } from '../repair/index.js';
import { EmbeddedCluster, type PutItem } from '../coordinator/index.js';
import { machineInfo, round, type BenchFigure, type BenchReport } from './report.js';
import type { BenchOptions, BenchSuite } from './suite.js';

/**
 * `aae bench repair`: how fast a repair moves keys, against baselines measured in the same run.
 *
 * 1. An empty sink: N keys on the source, none on the sink; one `repairClusters` call (it sees a
 *    large delta and replicates by range). Baseline: a plain copy of the same objects into another
 *    empty cluster with putMany (no comparison, no conditional writes) — the floor for moving them.
 * 2. Scattered damage: the two clusters in sync, then D keys made newer on the source; repair
 *    through exchange rounds only (range replication off), at the default maxResults (128) and
 *    at 1024. Baseline: the same D keys repaired when they are known up front (repairKeys on the
 *    list: reads, decisions and conditional writes, no exchange).
 * Every scenario ends with a compare that must find the clusters in sync, or the bench fails.
 */

/** N for the empty sink at scale 1 (the issue: "an empty sink of 100k keys"). */
const EMPTY_SINK_KEYS = 100_000;
/** D for scattered damage at scale 1. */
const SCATTERED = 2_000;
/** Exchange pause in the bench: nothing writes meanwhile, so a short pause; reported with the figures. */
const PAUSE_MS = 10;
const RING_SIZE = 16;
const VALUE = new Uint8Array(100);

function* items(n: number, counter: number, offset = 0): Generator<PutItem> {
  for (let i = offset; i < offset + n; i++) {
    yield { bucket: `b${i % 4}`, key: `key-${i}`, value: VALUE, clock: makeClock([['src', counter]], 1_700_000_000_000 + i) };
  }
}

async function create(dir: string, name: string, nVal: number, nodes: number): Promise<EmbeddedCluster> {
  return EmbeddedCluster.create(join(dir, name), defaultSpec(name, { ringSize: RING_SIZE, nVal, nodeCount: nodes, treeSize: 'large' }));
}

async function mustBeInSync(a: EmbeddedCluster, b: EmbeddedCluster, what: string): Promise<void> {
  const r = await compareClusters(a, b, { pauseMs: PAUSE_MS, maxResults: 1_000_000 });
  if (!r.inSync) throw new AaeError('INTERNAL', `bench repair: ${what} left ${r.differences.length} difference(s)`);
}

function rate(keys: number, ms: number): number {
  return round(keys / (ms / 1000), 0);
}

export const repairBench: BenchSuite = {
  name: 'repair',
  description: 'repair throughput: an empty sink (range replication) and scattered damage (exchange rounds), against plain copies',
  async run(options: BenchOptions): Promise<BenchReport> {
    const n = Math.max(500, Math.round(EMPTY_SINK_KEYS * options.scale));
    const d = Math.max(50, Math.round(SCATTERED * options.scale));
    const dir = await mkdtemp(join(tmpdir(), 'aae-bench-repair-'));
    const open: EmbeddedCluster[] = [];
    const figures: BenchFigure[] = [];
    try {
      const source = await create(dir, 'source', 3, 3);
      open.push(source);
      options.log(`repair: loading ${n} keys into the source`);
      await source.putMany(items(n, 1));

      // 1. Empty sink.
      // The baseline copies into a cluster of the sink's shape.
      const copy = await create(dir, 'copy', 2, 3);
      open.push(copy);
      const c0 = performance.now();
      await copy.putMany(items(n, 1));
      const copyMs = performance.now() - c0;
      const sink = await create(dir, 'sink', 2, 3);
      open.push(sink);
      options.log(`repair: repairing an empty sink of ${n} keys`);
      const r0 = performance.now();
      const report = await repairClusters(source, sink, { pauseMs: PAUSE_MS });
      const repairMs = performance.now() - r0;
      if (!report.inSync) throw new AaeError('INTERNAL', 'bench repair: the empty sink was not repaired');
      // Small N in a large tree may dirty too few branches to switch to range: the figure says how it went.
      const modes = [...new Set(report.loops.map((l) => l.mode))].join(' + ');
      await mustBeInSync(source, sink, 'the empty-sink repair');
      const emptyRate = rate(n, repairMs);
      figures.push({
        name: `empty sink: ${n} keys, one repair command (${modes}, ${report.loops.length} loop(s))`,
        value: emptyRate,
        unit: 'keys/s',
        baseline: { name: 'putMany of the same objects into an empty cluster', value: rate(n, copyMs), unit: 'keys/s' },
        ratio: round(emptyRate / rate(n, copyMs)),
        ratioMeaning: 'repair rate / plain copy rate',
        target: '≥ 20k keys/s',
        met: emptyRate >= 20_000,
      });

      // 2. Scattered damage: D keys newer on the source, spread over the key space.
      const step = Math.floor(n / d);
      const damaged: ObjectKey[] = Array.from({ length: d }, (_, j) => ({ bucket: `b${(j * step) % 4}`, key: new TextEncoder().encode(`key-${j * step}`) }));
      /** Makes the damaged keys newer on the source: a version `counter` the sink has not seen. */
      const bump = (counter: number) =>
        source.putMany(damaged.map((k) => ({ bucket: k.bucket, key: k.key, value: VALUE, clock: makeClock([['src', counter]], 1_800_000_000_000) })));
      for (const maxResults of [128, 1024]) {
        await bump(2 + maxResults);
        options.log(`repair: ${d} scattered differences through exchange rounds (maxResults ${maxResults})`);
        const e0 = performance.now();
        const r = await repairClusters(source, sink, { pauseMs: PAUSE_MS, maxResults, rangeReplication: false, maxLoops: 10_000 });
        const ms = performance.now() - e0;
        if (!r.inSync) throw new AaeError('INTERNAL', 'bench repair: scattered damage was not repaired');
        await mustBeInSync(source, sink, 'the scattered repair');
        // Baseline: the same damage again, repaired with the keys known up front.
        await bump(3 + maxResults);
        const k0 = performance.now();
        await repairKeys(twoClusterBackend(source, sink), damaged, { policy: 'lww' });
        const knownMs = performance.now() - k0;
        await mustBeInSync(source, sink, 'the known-keys repair');
        const scatteredRate = rate(d, ms);
        figures.push({
          name: `scattered: ${d} keys through exchange rounds, maxResults ${maxResults} (${r.loops.length} loops, pause ${PAUSE_MS} ms)`,
          value: scatteredRate,
          unit: 'keys/s',
          baseline: { name: 'repairKeys of the same keys, known up front (no exchange)', value: rate(d, knownMs), unit: 'keys/s' },
          ratio: round(scatteredRate / rate(d, knownMs)),
          ratioMeaning: 'through exchange rounds / keys known',
          target: '≥ 2k keys/s',
          met: scatteredRate >= 2_000,
        });
      }
      return {
        suite: 'repair',
        machine: machineInfo(),
        params: { emptySinkKeys: n, scattered: d, ringSize: RING_SIZE, treeSize: 'large', pauseMs: PAUSE_MS, source: '3 nodes nVal 3', sink: '3 nodes nVal 2' },
        figures,
      };
    } finally {
      for (const c of open) await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
