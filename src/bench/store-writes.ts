import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { claim, defaultSpec, increment, preflist, type AaeObject, type ClusterSpec } from '../cluster/index.js';
import { contribution, utf8 } from '../hash/index.js';
import { TicTacTree } from '../tictac/index.js';
import { HEAD_SUFFIX_START, KIND_HEAD, KIND_VALUE, objectKey, writeObjectKey } from '../store/layout.js';
import { locateKey, type LocatedKey } from '../store/index.js';
import { EmbeddedCluster, type PutItem } from '../coordinator/index.js';
import { prepareHead } from '../store/write-plan.js';
import { keyBuffer } from '../store/write-step.js';
import { round, type BenchFigure } from './report.js';
import type { BenchOptions } from './suite.js';

/**
 * The write figures of `aae bench store`: cluster writes with every tree current, against raw
 * LevelDB writes of exactly the records they write.
 *
 * Baseline: per object and replica a head and a value record, the same bytes under the same keys,
 * in one chained batch per node per BATCH objects, prepared before timing. It runs two ways, and
 * the faster is the baseline: each batch written before the next is built (plain), and the next
 * built while the last is written (pipelined, as the cluster writes).
 *
 * Figures against it:
 * - a load of objects that carry clocks (putMany with clocks: repair, migration, bulk loads);
 * - clockless writes, whose clocks are minted from every replica's head;
 * - the floor: the baseline's batches, pipelined, built inside the timing from the same items with
 *   only the work no tree-keeping write can skip: hash each key (locate), hash and encode each head,
 *   and add each replica's contribution to its keyspace's tree. No key filters, no queues, no
 *   bookkeeping: what a store could cost at best, and the cluster's distance from it. Also without
 *   the trees, to show what touching 24 fresh large trees costs on its own;
 * - steady state: N more objects into a cluster already holding N (trees and filters allocated),
 *   against the same raw batches into LevelDBs already holding the first N objects' records.
 */

/** A small ring: 24 large trees (≤ 96 MiB) for the write cluster. */
const RING = 8;
/** Replicas per key, as the cluster. */
const N_VAL = 3;
/** Objects per putMany batch and per raw batch: the same for every side. */
export const WRITE_BATCH = 5000;
/** Bytes per value: a small JSON document. */
const VALUE_BYTES = 100;

type Records = Array<Array<{ key: Uint8Array; value: Uint8Array }>>;
/** One write run's timing (ms), for the best-of comparison. */
type WriteRun = () => Promise<number>;
type RawDb = Level<Uint8Array, Uint8Array>;

function valueOf(i: number): Uint8Array {
  const v = new Uint8Array(VALUE_BYTES);
  v.fill(97 + (i % 26));
  return v;
}

/** Best (least) time of each run, the runs alternated round by round so that all see the same noise. */
async function alternate(rounds: number, runs: readonly WriteRun[]): Promise<number[]> {
  const best = runs.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < runs.length; i++) best[i] = Math.min(best[i]!, await runs[i]!());
  }
  return best;
}

export async function writeFigures(root: string, n: number, rounds: number, options: BenchOptions): Promise<BenchFigure[]> {
  const spec = defaultSpec('bench', { ringSize: RING, nVal: N_VAL, nodeCount: 3, treeSize: 'large' });
  const lastModified = (i: number): number => 1_700_000_000_000 + i;
  const clockless: PutItem[] = Array.from({ length: n }, (_, i) => ({ bucket: 'bench', key: `key-${i}`, value: valueOf(i), lastModified: lastModified(i) }));
  const clocked: PutItem[] = clockless.map((it, i) => ({ bucket: it.bucket, key: it.key, value: it.value, clock: increment(null, spec.name, lastModified(i)) }));
  const owners = claim(RING, spec.nodes, N_VAL).owners;
  /** vnode → index of its node in spec.nodes; keyspace → preflist. */
  const nodeOf = owners.map((o) => spec.nodes.indexOf(o));
  const prefs = Array.from({ length: RING }, (_, k) => preflist(k, spec));

  /** Every batch's records per node, prepared before timing, for the raw writers. */
  const recordsOf = (items: readonly PutItem[]): Records[] => {
    const out: Records[] = [];
    for (let start = 0; start < items.length; start += WRITE_BATCH) {
      const ops: Records = spec.nodes.map(() => []);
      for (let i = start; i < Math.min(items.length, start + WRITE_BATCH); i++) {
        const { loc, value, head } = encodeItem(items[i]!, spec);
        for (const v of prefs[loc.keyspace]!) {
          const list = ops[nodeOf[v]!]!;
          list.push({ key: objectKey(v, KIND_HEAD, loc.keyspace, loc.segment32, loc.ckey), value: head });
          list.push({ key: objectKey(v, KIND_VALUE, loc.keyspace, loc.segment32, loc.ckey), value });
        }
      }
      out.push(ops);
    }
    return out;
  };
  const perBatch = recordsOf(clocked);
  // Steady state: a second set of new keys, written into stores already holding the first.
  const second: PutItem[] = clocked.map((it, i) => ({ bucket: it.bucket, key: `second-${i}`, value: it.value, clock: it.clock! }));
  const secondBatches = recordsOf(second);

  let seq = 0;
  /** Times `body` over raw LevelDBs, one per node, fresh or (`before`) already holding those batches. */
  const withRawDbs = async (body: (dbs: RawDb[]) => Promise<void>, before?: Records[]): Promise<number> => {
    const dir = join(root, `raw-${seq++}`);
    const dbs = await Promise.all(spec.nodes.map(async (node) => {
      const db = new Level<Uint8Array, Uint8Array>(join(dir, node), { keyEncoding: 'view', valueEncoding: 'view' });
      await db.open();
      return db;
    }));
    try {
      if (before !== undefined) await writePlain(dbs, before);
      const t0 = performance.now();
      await body(dbs);
      return performance.now() - t0;
    } finally {
      for (const db of dbs) await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  };
  const rawRun = (batches: Records[], before?: Records[]): WriteRun => () => withRawDbs((dbs) => writePlain(dbs, batches), before);
  const rawPipelinedRun = (batches: Records[], before?: Records[]): WriteRun => () => withRawDbs((dbs) => writePipelined(dbs, batches), before);
  const floorRun = (trees: boolean): WriteRun => () => withRawDbs((dbs) => floorWrite(dbs, clocked, spec, prefs, nodeOf, trees));
  const clusterRun = (items: PutItem[], what: string, before?: PutItem[]): WriteRun => async () => {
    const dir = join(root, `${what}-${seq++}`);
    const cluster = await EmbeddedCluster.create(dir, spec);
    try {
      if (before !== undefined) await cluster.putMany(before, { batchSize: WRITE_BATCH });
      const t0 = performance.now();
      await cluster.putMany(items, { batchSize: WRITE_BATCH });
      return performance.now() - t0;
    } finally {
      await cluster.close({ saveTrees: false });
      await rm(dir, { recursive: true, force: true });
    }
  };

  options.log(`store: writes, ${n} objects × ${N_VAL} replicas: raw (plain, pipelined), floors, cluster load with clocks, clockless cluster writes, then the same into stores already holding ${n} (${rounds} rounds)`);
  const runs = [
    rawRun(perBatch),
    rawPipelinedRun(perBatch),
    floorRun(false),
    floorRun(true),
    clusterRun(clocked, 'load'),
    clusterRun(clockless, 'mint'),
    rawRun(secondBatches, perBatch),
    rawPipelinedRun(secondBatches, perBatch),
    clusterRun(second, 'warm', clocked),
  ];
  const [plainMs, pipelinedMs, hashMs, floorMs, loadMs, mintMs, warmPlainMs, warmPipelinedMs, warmMs] = (await alternate(rounds, runs)) as [number, number, number, number, number, number, number, number, number];
  const rawMs = Math.min(plainMs, pipelinedMs);
  const warmRawMs = Math.min(warmPlainMs, warmPipelinedMs);
  const rate = (ms: number): number => Math.round((n / ms) * 1000);
  const baseline = {
    name: `raw LevelDB chained batches of the same records (head + value per replica), one per node per batch, ${pipelinedMs < plainMs ? 'pipelined' : 'plain'} (the faster way this run)`,
    value: rate(rawMs),
    unit: 'objects/s',
  };
  const vsRaw = (name: string, ms: number, target: boolean): BenchFigure => ({
    name,
    value: rate(ms),
    unit: 'objects/s',
    baseline,
    ratio: round(ms / rawMs, 3),
    ratioMeaning: 'time / raw time',
    ...(target ? { target: '≤ 1.25× the raw cost', met: ms / rawMs <= 1.25 } : {}),
  });
  return [
    vsRaw('cluster load of objects with clocks, trees current (3 nodes, nVal 3, ring 8)', loadMs, true),
    vsRaw('cluster writes without clocks (minted: every replica read first), trees current', mintMs, true),
    {
      name: 'raw batches written the other way (ratio: pipelined time / plain time)',
      value: rate(Math.max(plainMs, pipelinedMs)),
      unit: 'objects/s',
      ratio: round(pipelinedMs / plainMs, 3),
      ratioMeaning: 'pipelined time / plain time',
    },
    vsRaw('floor without trees: the raw batches, pipelined, built from the items with key hashing and head hashing and encoding', hashMs, false),
    vsRaw('floor: the same plus adding each replica to its fresh large tree (24 trees, 4 MiB each when full)', floorMs, false),
    {
      name: `steady state: cluster load of ${n} more objects with clocks into a cluster already holding ${n} (trees and filters allocated)`,
      value: rate(warmMs),
      unit: 'objects/s',
      baseline: { name: `the same raw batches into LevelDBs already holding the first ${n} objects' records (the faster of plain and pipelined)`, value: rate(warmRawMs), unit: 'objects/s' },
      ratio: round(warmMs / warmRawMs, 3),
      ratioMeaning: 'time / raw time',
      target: '≤ 1.25× the raw cost',
      met: warmMs / warmRawMs <= 1.25,
    },
    {
      name: 'cluster load against the floor (what the store adds: filters, queues, plans, bookkeeping)',
      value: rate(loadMs),
      unit: 'objects/s',
      baseline: { name: 'floor', value: rate(floorMs), unit: 'objects/s' },
      ratio: round(loadMs / floorMs, 3),
      ratioMeaning: 'time / floor time',
    },
  ];
}

/** A clocked bench item located and its head hashed and encoded, as the store prepares a write (prepareHead). */
function encodeItem(it: PutItem, spec: ClusterSpec): { loc: LocatedKey; value: Uint8Array; head: Uint8Array; hash: number } {
  const value = it.value as Uint8Array;
  const loc = locateKey(it.bucket, utf8(it.key as string), spec);
  const object: AaeObject = { bucket: it.bucket, key: loc.key, clock: it.clock!, value, deleted: false, indexes: [] };
  const head = prepareHead(object, loc, spec);
  return { loc, value, head: head.bytes, hash: head.value.hash };
}

/** A chained batch per node, as the store writes (the array form re-validates every op in JS). */
function build(dbs: RawDb[], ops: Records): Array<ReturnType<RawDb['batch']>> {
  return ops.map((list, j) => {
    const b = dbs[j]!.batch();
    for (const o of list) b.put(o.key, o.value);
    return b;
  });
}

/** Each batch written before the next is built. */
async function writePlain(dbs: RawDb[], batches: Records[]): Promise<void> {
  for (const ops of batches) await Promise.all(build(dbs, ops).map((b) => b.write()));
}

/** The next batch built while the last is written. */
async function writePipelined(dbs: RawDb[], batches: Records[]): Promise<void> {
  let landing: Promise<unknown> = Promise.resolve();
  for (const ops of batches) {
    const built = build(dbs, ops);
    await landing;
    landing = Promise.all(built.map((b) => b.write()));
  }
  await landing;
}

/**
 * The floor's writes: for every item, its key located and its head hashed and encoded, then per
 * replica the head and value put into the node's batch (keys built in one buffer per length, as
 * the store builds them) and, `withTrees`, the contribution added to the replica's tree of the keyspace.
 * Batches are pipelined: the next is built while the last is written.
 */
async function floorWrite(dbs: RawDb[], items: readonly PutItem[], spec: ClusterSpec, prefs: ReadonlyArray<readonly number[]>, nodeOf: readonly number[], withTrees: boolean): Promise<void> {
  const trees = new Map<number, TicTacTree>(); // vnode · 65536 + keyspace
  let landing: Promise<unknown> = Promise.resolve();
  for (let start = 0; start < items.length; start += WRITE_BATCH) {
    const batches = dbs.map((db) => db.batch());
    for (let i = start; i < Math.min(items.length, start + WRITE_BATCH); i++) {
      const { loc, value, head, hash } = encodeItem(items[i]!, spec);
      const c = contribution(loc.alt, hash);
      const key = keyBuffer(HEAD_SUFFIX_START + loc.ckey.length);
      for (const v of prefs[loc.keyspace]!) {
        const b = batches[nodeOf[v]!]!;
        writeObjectKey(key, v, KIND_HEAD, loc.keyspace, loc.segment32, loc.ckey);
        b.put(key, head);
        key[3] = KIND_VALUE;
        b.put(key, value);
        if (!withTrees) continue;
        const id = v * 65536 + loc.keyspace;
        let tree = trees.get(id);
        if (tree === undefined) trees.set(id, (tree = TicTacTree.create('large')));
        tree.add(loc.segment32, c);
      }
    }
    await landing;
    landing = Promise.all(batches.map((b) => b.write()));
  }
  await landing;
}
