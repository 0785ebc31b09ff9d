/**
 * Range replication: the repair for large damage (an empty sink, a whole bucket missing).
 *
 * Walking the tree finds at most maxResults segments an exchange; when thousands of segments
 * differ, a pass over the data is cheaper. This streams one side's objects — one replica per
 * keyspace, by a coverage plan, so every key is read once — straight into conditional writes on
 * the other side: a write lands only where it dominates what the replica holds (or the replica
 * lacks the key). No version is read twice and nothing newer is ever overwritten.
 *
 * What it cannot settle it leaves: a concurrent version, or a source replica behind its own
 * siblings, is skipped, and the exchange loop that follows finds it and repairs it with the
 * conflict policy and the conflict log. Range replication is therefore an accelerator inside the
 * loop, never the last word.
 */
import type { AaeObject } from '../cluster/index.js';
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
  let pending: Array<{ object: AaeObject }> = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const outcomes = await to.writeIfDominates(pending);
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
        pending.push({ object: { bucket: o.bucket, key: o.key, clock: o.clock, value: o.value, deleted: o.deleted, indexes: o.indexes } });
      }
      if (pending.length >= batchSize) await flush();
    }
  }
  await flush();
  return stats;
}
