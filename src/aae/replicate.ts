/**
 * Range replication: the repair for large damage (an empty sink, a whole bucket missing).
 *
 * Walking the tree finds at most maxResults segments an exchange; when thousands of segments
 * differ, a pass over the data is cheaper. This streams one side's keys (one replica per keyspace,
 * by a coverage plan, so every key is listed once) and, batch by batch, reads every replica of
 * those keys on that side and sends the dominant version into conditional writes on the other
 * side: a write lands only where it dominates what the replica holds (or the replica lacks the
 * key), so nothing newer is ever overwritten. Reading every replica matters: the listed replica
 * may be behind its siblings, and copying it would leave the other side behind while an exchange
 * that happens to read the same stale replica reports the sides in sync. The side's own stale
 * replicas are given the dominant version in the same pass.
 *
 * What it cannot settle it leaves: concurrent versions are skipped wherever neither dominates,
 * and the exchange loop that follows finds them and repairs them with the conflict policy and the
 * conflict log. Range replication is therefore an accelerator inside the loop, never the last word.
 */
import { compareClocks, dominantObject, type AaeObject, type Clock } from '../cluster/index.js';
import { throwIfAborted } from '../errors.js';
import type { ExchangeScope } from '../exchange/index.js';
import { plan } from '../plan/index.js';
import type { FoldFilter } from '../store/index.js';
import type { RepairableCluster } from './cluster-backend.js';
import { rangeFilter } from './vnode-source.js';

export interface ReplicateOptions {
  signal?: AbortSignal;
  /** Objects per conditional write batch. */
  batchSize?: number;
  onProgress?: (p: { read: number; written: number }) => void;
}

export interface ReplicateStats {
  /** Objects read from the source side. */
  read: number;
  /** Replica writes that landed on the target side. */
  written: number;
  /** Replica writes skipped: the target held the same version, a newer one, or a concurrent one. */
  skipped: number;
  /** Objects at least one target replica took. */
  copied: number;
}

/** Objects per conditional write batch: amortises a flush per vnode over many keys, a few MiB. */
const DEFAULT_BATCH = 2000;

export async function replicateRange(
  from: RepairableCluster,
  to: RepairableCluster,
  scope: ExchangeScope,
  options: ReplicateOptions = {},
): Promise<ReplicateStats> {
  const stats: ReplicateStats = { read: 0, written: 0, skipped: 0, copied: 0 };
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const coverage = plan({ ringSize: from.spec.ringSize, nVal: from.spec.nVal, owners: from.owners, offset: 0 });
  const base: FoldFilter = scope.kind === 'range' ? rangeFilter(scope) : {};
  let pending: Array<{ object: AaeObject; from: number }> = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = from.spec.nVal > 1 ? await dominantVersions(from, pending) : pending;
    const outcomes = await to.writeIfDominates(batch);
    for (const o of outcomes) {
      const w = o.filter((x) => x === 'written').length;
      stats.written += w;
      stats.skipped += o.length - w;
      if (w > 0) stats.copied++;
    }
    pending = [];
    options.onProgress?.({ read: stats.read, written: stats.written });
  };
  for (const entry of coverage.vnodes) {
    const vnode = from.vnode(entry.vnode);
    const filter: FoldFilter = { ...base, keyspaces: entry.keyspaces };
    for await (const batch of vnode.foldObjects(filter, options.signal === undefined ? {} : { signal: options.signal })) {
      throwIfAborted(options.signal);
      for (const o of batch) {
        stats.read++;
        pending.push({ object: { bucket: o.bucket, key: o.key, clock: o.clock, value: o.value, deleted: o.deleted, indexes: o.indexes }, from: entry.vnode });
      }
      if (pending.length >= batchSize) await flush();
    }
  }
  await flush();
  return stats;
}

/**
 * For each listed object, the dominant version among all of `side`'s replicas of its key (as `get`
 * reads it); replicas of `side` behind that version are given it, conditionally, on the way. The
 * other replicas' heads are read first; an object is read again only where another replica holds
 * a version that beats the listed one (rare: a replica behind its siblings).
 */
async function dominantVersions(side: RepairableCluster, listed: ReadonlyArray<{ object: AaeObject; from: number }>): Promise<Array<{ object: AaeObject }>> {
  const keys = listed.map(({ object }) => ({ bucket: object.bucket, key: object.key }));
  // The listed replica's version is in hand: read the others' heads only.
  const read = await side.readReplicaHeads(listed.map(({ object, from }) => ({ bucket: object.bucket, key: object.key, skipVnode: from })));
  const heads: Array<Array<{ vnode: number; head: { clock: Clock } | null }>> = read.map((replicas, i) =>
    replicas.map((r) => ({ vnode: r.vnode, head: r.head === undefined ? listed[i]!.object : r.head })),
  );
  const better: number[] = [];
  heads.forEach((replicas, i) => {
    const mine = listed[i]!.object;
    // `get`'s own choice between the two: the head wins if it dominates or is concurrent and later.
    if (replicas.some((r) => r.head !== null && dominantObject<{ clock: Clock }>([mine, r.head]) === r.head)) better.push(i);
  });
  const out = listed.map(({ object }) => ({ object }));
  if (better.length > 0) {
    const reads = await side.readReplicas(better.map((i) => keys[i]!));
    better.forEach((i, j) => {
      out[i] = { object: dominantObject([listed[i]!.object, ...reads[j]!.map((r) => r.object)])! };
    });
  }
  const heal: Array<{ object: AaeObject; vnodes: number[] }> = [];
  heads.forEach((replicas, i) => {
    const best = out[i]!.object;
    const behind = replicas.filter((r) => r.head === null || compareClocks(best.clock, r.head.clock) === 'left').map((r) => r.vnode);
    if (behind.length > 0) heal.push({ object: best, vnodes: behind });
  });
  if (heal.length > 0) await side.writeIfDominates(heal);
  return out;
}
