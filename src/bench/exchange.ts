import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareClusters, type ClusterComparison } from '../aae/index.js';
import { defaultSpec, type Clock } from '../cluster/index.js';
import { initHash, utf8, varintLength } from '../hash/index.js';
import { plan } from '../plan/index.js';
import { EmbeddedCluster, type PutItem } from '../coordinator/index.js';
import { HASH_BYTES, branchCountOf } from '../tictac/index.js';
import { machineInfo, round, type BenchFigure, type BenchReport } from './report.js';
import type { BenchOptions, BenchSuite } from './suite.js';

/**
 * `aae bench exchange`: compareClusters between two embedded clusters, against a naive compare
 * measured in the same run — every (bucket, key, 4-byte hash) shipped from both sides (one
 * coverage fold of heads per cluster) and diffed in a map. Scenarios (the issue's):
 * - in sync, N = 1M keys each: time ≤ 100 ms, bytes ≤ 2 × a root;
 * - 100 differences among those 1M: time ≤ 1 s, ≤ 3 round trips of tree data before the clock
 *   compare, bytes < Negentropy's ~163 KB (aim: a third of it);
 * - 10,000 differences among 100k keys (another pair): bytes ≤ 1.2 × the naive compare.
 * Every scenario asserts that the exchange and the naive compare both find exactly the planted
 * differences. Differences are spread: a third missing on pink, a third missing on blue, a third
 * with a newer clock on pink.
 */

/** Keys per cluster at scale 1 (the 1M). */
const KEYS = 1_000_000;
/** Keys per cluster of the large-delta pair at scale 1. */
const LARGE_DELTA_KEYS = 100_000;
/** Differences planted in the 1M pair and in the 100k pair at scale 1. */
const SMALL_DELTA = 100;
const LARGE_DELTA = 10_000;
/** A modest ring: 16 vnodes × 2 IndexN trees, each a large tree (≤ 4 MiB full): ≤ 128 MiB of trees per cluster. */
const RING_SIZE = 16;
/** Two replicas per key: the exchange reads one coverage of each cluster, so nVal only costs load time. */
const N_VAL = 2;
const NODES = 2;
/** The tree: 2^20 segments, a 16 KiB root. */
const TREE_SIZE = 'large';
/** Objects per putMany batch while loading. */
const LOAD_BATCH = 10_000;
/** Small but non-zero: the confirmation pauses are part of every exchange's time. */
const PAUSE_MS = 10;
/** Timed runs per exchange figure at full scale; the best is kept (a shared, noisy machine). */
const RUNS = 3;
/** Negentropy's reference implementation, measured on this machine for 100 differences in 1M items. */
const NEGENTROPY_BYTES = 163_000;
const LAST_MODIFIED = 1_700_000_000_000;
const BASE_CLOCK: Clock = { entries: [['bench', 1]], lastModified: LAST_MODIFIED };

const keyOf = (i: number): string => `key-${i}`;
const bucketOf = (i: number): string => `b${i % 4}`;

/** How a planted difference looks; the d-th difference of a scenario is kind d mod 3. */
type Kind = 'missingOnPink' | 'missingOnBlue' | 'newerOnPink';
const KINDS: readonly Kind[] = ['missingOnPink', 'missingOnBlue', 'newerOnPink'];

/** Keys 0…n−1 on both sides, then `d` differences among the first keys, spread over the key space. */
function planted(n: number, d: number): Map<number, Kind> {
  const out = new Map<number, Kind>();
  const step = Math.floor(n / d);
  for (let j = 0; j < d; j++) out.set(j * step + (j % step), KINDS[j % 3]!);
  return out;
}

function* items(n: number, diffs: ReadonlyMap<number, Kind>, side: 'blue' | 'pink'): Generator<PutItem> {
  for (let i = 0; i < n; i++) {
    const kind = diffs.get(i);
    if (kind === (side === 'blue' ? 'missingOnBlue' : 'missingOnPink')) continue;
    const clock: Clock =
      kind === 'newerOnPink' && side === 'pink' ? { entries: [['bench', 1], ['pink', 1 + i]], lastModified: LAST_MODIFIED + 1 } : BASE_CLOCK;
    yield { bucket: bucketOf(i), key: keyOf(i), value: 'v', clock };
  }
}

async function load(dir: string, name: string, n: number, diffs: ReadonlyMap<number, Kind>, side: 'blue' | 'pink', options: BenchOptions): Promise<EmbeddedCluster> {
  const cluster = await EmbeddedCluster.create(join(dir, name), defaultSpec(name, { ringSize: RING_SIZE, nVal: N_VAL, nodeCount: NODES, treeSize: TREE_SIZE }));
  const t0 = performance.now();
  let next = 0;
  await cluster.putMany(items(n, diffs, side), {
    batchSize: LOAD_BATCH,
    onProgress: ({ written }) => {
      if (written >= next) {
        options.log(`exchange: ${name} loaded ${written} of ~${n} keys (${Math.round((performance.now() - t0) / 1000)} s)`);
        next += Math.max(LOAD_BATCH, Math.round(n / 5));
      }
    },
  });
  return cluster;
}

interface Naive {
  bytes: number;
  ms: number;
  differences: number;
}

/** Every (bucket, key, hash) of one coverage of the cluster, as the naive compare would ship it. */
async function shipAll(cluster: EmbeddedCluster): Promise<{ entries: Map<string, number>; bytes: number }> {
  const p = plan({ ringSize: cluster.spec.ringSize, nVal: cluster.spec.nVal, owners: cluster.owners, offset: 0 });
  const entries = new Map<string, number>();
  let bytes = 0;
  for (const v of p.vnodes) {
    for await (const batch of cluster.vnode(v.vnode).foldHeads({ keyspaces: v.keyspaces })) {
      for (const h of batch) {
        const bucketBytes = utf8(h.bucket).length;
        bytes += varintLength(bucketBytes) + bucketBytes + varintLength(h.key.length) + h.key.length + HASH_BYTES;
        entries.set(`${h.bucket}\u0000${Buffer.from(h.key).toString('latin1')}`, h.hash);
      }
    }
  }
  return { entries, bytes };
}

/** The naive compare: both sides ship everything (concurrently), then one side diffs. */
async function naiveCompare(blue: EmbeddedCluster, pink: EmbeddedCluster): Promise<Naive> {
  const t0 = performance.now();
  const [b, p] = await Promise.all([shipAll(blue), shipAll(pink)]);
  let differences = 0;
  for (const [id, hash] of b.entries) if (p.entries.get(id) !== hash) differences++;
  for (const id of p.entries.keys()) if (!b.entries.has(id)) differences++;
  return { bytes: b.bytes + p.bytes, ms: performance.now() - t0, differences };
}

interface Measured {
  ms: number;
  cmp: ClusterComparison;
}

async function exchangeBest(blue: EmbeddedCluster, pink: EmbeddedCluster, runs: number, expected: number, maxResults?: number): Promise<Measured> {
  let best: Measured | undefined;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const cmp = await compareClusters(blue, pink, { pauseMs: PAUSE_MS, sourceOffset: 0, sinkOffset: 0, ...(maxResults === undefined ? {} : { maxResults }) });
    const ms = performance.now() - t0;
    if (cmp.differences.length !== expected) {
      throw new Error(`the exchange found ${cmp.differences.length} differences, ${expected} were planted`);
    }
    if (best === undefined || ms < best.ms) best = { ms, cmp };
  }
  return best!;
}

function checkNaive(naive: Naive, expected: number): void {
  if (naive.differences !== expected) throw new Error(`the naive compare found ${naive.differences} differences, ${expected} were planted`);
}

/** The figures every scenario reports: time, bytes (with ratios against the naive compare), rounds, deltas. */
function scenarioFigures(
  name: string,
  m: Measured,
  naive: Naive,
  planted: number,
  targets: { ms?: number; bytes?: { max: number; text: string }; bytesRatio?: number; treeRounds?: number },
): BenchFigure[] {
  const e = m.cmp.exchange;
  const naiveBytes = { name: 'naive: every (bucket, key, 4-byte hash) from both sides', value: naive.bytes, unit: 'B' };
  const naiveTime = { name: 'naive: ship every (bucket, key, hash) from both sides and diff', value: round(naive.ms, 1), unit: 'ms' };
  const bytesRatio = round(e.bytes.total / naive.bytes, 4);
  const bytesMet = (targets.bytes === undefined || e.bytes.total <= targets.bytes.max) && (targets.bytesRatio === undefined || bytesRatio <= targets.bytesRatio);
  const bytesTarget = [targets.bytes?.text, targets.bytesRatio === undefined ? undefined : `≤ ${targets.bytesRatio} × naive`].filter((t) => t !== undefined).join('; ');
  return [
    {
      name: `${name}: time`,
      value: round(m.ms, 1),
      unit: 'ms',
      baseline: naiveTime,
      ratio: round(m.ms / naive.ms, 4),
      ratioMeaning: 'exchange time / naive time',
      ...(targets.ms === undefined ? {} : { target: `≤ ${targets.ms} ms`, met: m.ms <= targets.ms }),
    },
    {
      name: `${name}: bytes moved`,
      value: e.bytes.total,
      unit: 'B',
      baseline: naiveBytes,
      ratio: bytesRatio,
      ratioMeaning: 'exchange bytes / naive bytes',
      ...(bytesTarget === '' ? {} : { target: bytesTarget, met: bytesMet }),
    },
    {
      name: `${name}: round trips of tree data before the clock compare`,
      value: e.treeRounds,
      unit: 'rounds',
      ...(targets.treeRounds === undefined ? {} : { target: `≤ ${targets.treeRounds}`, met: e.treeRounds <= targets.treeRounds }),
    },
    { name: `${name}: rounds in all (each asks every source of both sides once)`, value: e.rounds, unit: 'rounds' },
    { name: `${name}: source requests (round trips)`, value: e.roundTrips, unit: 'requests' },
    {
      name: `${name}: differences found`,
      value: m.cmp.differences.length,
      unit: 'keys',
      baseline: { name: 'planted (the naive compare found as many)', value: planted, unit: 'keys' },
      target: '= planted',
      met: m.cmp.differences.length === planted,
    },
  ];
}

export const exchangeBench: BenchSuite = {
  name: 'exchange',
  description: 'compareClusters in sync, with 100 differences among 1M keys and 10,000 among 100k, against shipping every (key, hash)',
  async run(options: BenchOptions): Promise<BenchReport> {
    await initHash();
    const n = Math.max(2000, Math.round(KEYS * options.scale));
    const n2 = Math.max(1000, Math.round(LARGE_DELTA_KEYS * options.scale));
    const d1 = Math.min(SMALL_DELTA, Math.floor(n / 20));
    const d2 = Math.min(LARGE_DELTA, Math.floor(n2 / 10));
    const runs = options.scale < 0.1 ? 1 : RUNS;
    const rootBytes = branchCountOf(TREE_SIZE) * HASH_BYTES;
    const dir = await mkdtemp(join(tmpdir(), 'aae-bench-exchange-'));
    const open: EmbeddedCluster[] = [];
    const figures: BenchFigure[] = [];
    const params: Record<string, number | string> = {
      scale: options.scale,
      keys: n,
      largeDeltaKeys: n2,
      smallDelta: d1,
      largeDelta: d2,
      ringSize: RING_SIZE,
      nVal: N_VAL,
      nodes: NODES,
      treeSize: TREE_SIZE,
      pauseMs: PAUSE_MS,
      pauseJitter: 'pauseMs/2 + random × pauseMs',
      runs,
    };
    try {
      // 1. In sync, then 100 differences written into the same pair.
      const none = new Map<number, Kind>();
      const t0 = performance.now();
      const [blue, pink] = await Promise.all([load(dir, 'blue', n, none, 'blue', options), load(dir, 'pink', n, none, 'pink', options)]);
      open.push(blue, pink);
      params.loadSeconds = round((performance.now() - t0) / 1000, 1);
      await compareClusters(blue, pink, { pauseMs: 0, sourceOffset: 0, sinkOffset: 0 }); // warm: trees restored before timing
      const inSync = await exchangeBest(blue, pink, runs, 0);
      const naiveInSync = await naiveCompare(blue, pink);
      checkNaive(naiveInSync, 0);
      options.log(`exchange: in sync ${round(inSync.ms, 1)} ms, ${inSync.cmp.exchange.bytes.total} B; naive ${round(naiveInSync.ms)} ms, ${naiveInSync.bytes} B`);
      figures.push(...scenarioFigures('in sync', inSync, naiveInSync, 0, { ms: 100, bytes: { max: 2 * rootBytes, text: `≤ 2 × root (${2 * rootBytes} B)` } }));

      // Plant the differences after the fact: extra keys on either side, newer clocks on pink.
      const extra: Record<'blue' | 'pink', PutItem[]> = { blue: [], pink: [] };
      for (let j = 0; j < d1; j++) {
        const kind = KINDS[j % 3]!;
        if (kind === 'newerOnPink') {
          const i = j * Math.floor(n / d1);
          extra.pink.push({ bucket: bucketOf(i), key: keyOf(i), value: 'v', clock: { entries: [['bench', 1], ['pink', 1 + j]], lastModified: LAST_MODIFIED + 1 } });
        } else {
          extra[kind === 'missingOnPink' ? 'blue' : 'pink'].push({ bucket: bucketOf(n + j), key: keyOf(n + j), value: 'v', clock: BASE_CLOCK });
        }
      }
      await blue.putMany(extra.blue);
      await pink.putMany(extra.pink);
      const small = await exchangeBest(blue, pink, runs, d1);
      const naiveSmall = await naiveCompare(blue, pink);
      checkNaive(naiveSmall, d1);
      options.log(`exchange: ${d1} differences ${round(small.ms, 1)} ms, ${small.cmp.exchange.bytes.total} B, ${small.cmp.exchange.treeRounds} tree rounds`);
      figures.push(
        ...scenarioFigures(`${d1} differences among ${n} keys`, small, naiveSmall, d1, {
          ms: 1000,
          treeRounds: 3,
          bytes: { max: NEGENTROPY_BYTES, text: `< Negentropy's ~${NEGENTROPY_BYTES} B (aim ≤ ${Math.round(NEGENTROPY_BYTES / 3)} B)` },
        }),
      );
      figures.push({
        name: `${d1} differences: bytes against Negentropy's reference implementation (measured separately on this machine)`,
        value: small.cmp.exchange.bytes.total,
        unit: 'B',
        baseline: { name: 'Negentropy, 100 differences in 1M items', value: NEGENTROPY_BYTES, unit: 'B' },
        ratio: round(small.cmp.exchange.bytes.total / NEGENTROPY_BYTES, 4),
        ratioMeaning: 'exchange bytes / Negentropy bytes',
        target: '≤ 1/3 (the aim)',
        met: small.cmp.exchange.bytes.total * 3 <= NEGENTROPY_BYTES,
      });
      await Promise.all(open.splice(0).map((c) => c.close()));

      // 2. A large delta: 10,000 differences among 100k keys, a pair of its own.
      const big = planted(n2, d2);
      const [blue2, pink2] = await Promise.all([load(dir, 'blue2', n2, big, 'blue', options), load(dir, 'pink2', n2, big, 'pink', options)]);
      open.push(blue2, pink2);
      // At scale 1 the large-delta path lifts maxResults; below it (fewer differences than half
      // the branches) the cap would stop the exchange at 128 segments, so lift it to the planted count.
      const large = await exchangeBest(blue2, pink2, Math.min(runs, 2), d2, Math.max(d2, 128));
      const naiveLarge = await naiveCompare(blue2, pink2);
      checkNaive(naiveLarge, d2);
      options.log(`exchange: ${d2} differences ${round(large.ms, 1)} ms, ${large.cmp.exchange.bytes.total} B; naive ${naiveLarge.bytes} B`);
      figures.push(...scenarioFigures(`${d2} differences among ${n2} keys`, large, naiveLarge, d2, { bytesRatio: 1.2 }));
      figures.push({ name: `${d2} differences: flagged a large delta`, value: large.cmp.exchange.largeDelta ? 1 : 0, unit: 'bool' });
      figures.push({ name: `${d2} differences: segments whose keys were fetched`, value: large.cmp.exchange.dirtySegments, unit: 'segments' });
    } finally {
      await Promise.all(open.map((c) => c.close()));
      await rm(dir, { recursive: true, force: true });
    }
    return { suite: 'exchange', machine: machineInfo(), params, figures };
  },
};
