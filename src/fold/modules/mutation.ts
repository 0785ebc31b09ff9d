import { z } from 'zod';
import { preflist } from '../../cluster/ring.js';
import type { ObjectHead } from '../../cluster/object.js';
import type { VnodeWrite } from '../../store/vnode.js';
import { FOLD_API_VERSION, MAX_INPUT_BATCH, type FlushContext, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { abortError } from '../queue.js';
import { compareKeyed } from './key-list.js';
import { rangeFilter, rangeWithSegmentsFields, type RangeQuery } from './query-parts.js';

/**
 * The mutating folds, reap_tombs and erase_keys, share one shape. By default they only count what
 * they match (Riak's `count` change method: cheaper than listing it). Told to act, they remove each
 * matched key from every replica of its preflist — not only the vnode that found it, which covers
 * the keyspace for the plan but is one replica of nVal — through Vnode.write({kind: 'erase'}), so
 * every replica's cached tree stays current. They act in batches of `batchSize` keys and pause
 * `pauseMs` after each batch, so a large reap does not starve the cluster's writes.
 *
 * reap_tombs removes a replica's record only while that replica still holds a tombstone: a replica
 * that holds a live version (a write after the delete, or drift) is left alone and counted as
 * skipped. The check and the erase are two steps; a write that lands between them on that replica
 * is erased too — the same window Riak's reaper has. erase_keys removes whatever each replica holds.
 */

/** Keys per act batch by default, as Riak's delete batch: big enough to amortise a LevelDB batch per vnode. */
export const DEFAULT_MUTATION_BATCH = 1024;
/** Pause after each act batch by default: ~1 % duty cycle of a 1-second batch, enough to let foreground writes through. */
export const DEFAULT_MUTATION_PAUSE_MS = 10;

export interface MutationQuery extends RangeQuery {
  act: boolean;
  batchSize: number;
  pauseMs: number;
}

interface PendingKey {
  bucket: string;
  key: Uint8Array;
  keyspace: number;
}

export interface MutationAcc {
  pending: PendingKey[];
  /** Keys matched (on the covering vnodes). */
  found: number;
  /** Replica records removed. */
  removed: number;
  /** Replica records left alone (reap_tombs: a live version). */
  skipped: number;
}

interface MutationSpec {
  name: string;
  /** The change method that acts: 'reap' or 'erase'. */
  verb: string;
  description: string;
  matches: (head: ObjectHead) => boolean;
  /** Whether a replica's current head may be removed. */
  removable: (head: ObjectHead) => boolean;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function act(spec: MutationSpec, q: MutationQuery, acc: MutationAcc, ctx: FlushContext): Promise<MutationAcc> {
  const { ringSize, nVal } = ctx.target.spec;
  while (acc.pending.length >= q.batchSize || (ctx.final && acc.pending.length > 0)) {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    const batch = acc.pending.slice(0, q.batchSize);
    const perVnode = new Map<number, PendingKey[]>();
    for (const k of batch) {
      for (const v of preflist(k.keyspace, { ringSize, nVal })) {
        let list = perVnode.get(v);
        if (list === undefined) perVnode.set(v, (list = []));
        list.push(k);
      }
    }
    await Promise.all(
      [...perVnode].map(async ([id, keys]) => {
        const vnode = ctx.target.vnode(id);
        const heads = await Promise.all(keys.map((k) => vnode.getHead(k.bucket, k.key)));
        const writes: VnodeWrite[] = [];
        heads.forEach((h, i) => {
          if (h === null) return;
          if (!spec.removable(h)) {
            acc.skipped++;
            return;
          }
          writes.push({ kind: 'erase', bucket: keys[i]!.bucket, key: keys[i]!.key });
        });
        if (writes.length > 0) await vnode.write(writes);
        acc.removed += writes.length;
      }),
    );
    acc.pending = acc.pending.slice(batch.length);
    await sleep(q.pauseMs, ctx.signal);
  }
  return acc;
}

export function mutationModule(spec: MutationSpec): FoldModule<MutationQuery, MutationAcc> {
  const schema = z.strictObject({
    ...rangeWithSegmentsFields,
    change: z.enum(['count', spec.verb]).default('count'),
    batchSize: z.number().int().min(1).max(100_000).default(DEFAULT_MUTATION_BATCH),
    pauseMs: z.number().int().min(0).max(60_000).default(DEFAULT_MUTATION_PAUSE_MS),
  });
  return {
    name: spec.name,
    apiVersion: FOLD_API_VERSION,
    description: spec.description,
    parseQuery(input) {
      const { change, ...rest } = parseWith(spec.name, schema, input);
      return { ...rest, act: change !== 'count' };
    },
    stateNeeds: () => 'heads',
    generateFilter: rangeFilter,
    generateAcc: () => ({ pending: [], found: 0, removed: 0, skipped: 0 }),
    generateMergeFun: () => (a, b) => ({
      pending: [...a.pending, ...b.pending].sort(compareKeyed),
      found: a.found + b.found,
      removed: a.removed + b.removed,
      skipped: a.skipped + b.skipped,
    }),
    generateObjectFoldFun: (q) => (acc: MutationAcc, input: FoldInput) => {
      if (input.kind !== 'head' || !spec.matches(input.head)) return acc;
      acc.found++;
      if (q.act) acc.pending.push({ bucket: input.head.bucket, key: input.head.key, keyspace: input.head.keyspace });
      return acc;
    },
    generateFlushFun: (q) => async (acc, ctx) => (q.act ? act(spec, q, acc, ctx) : acc),
    /** Pending keys: an act batch left over plus one input batch. */
    accBound: (q) => q.batchSize + MAX_INPUT_BATCH,
    accSize: (acc) => acc.pending.length,
    summarize(acc, q) {
      const json = { change: q.act ? spec.verb : 'count', found: acc.found, removed: acc.removed, skipped: acc.skipped };
      return { json, table: { head: ['change', 'found', 'removed', 'skipped'], rows: [[json.change, acc.found, acc.removed, acc.skipped]] } };
    },
  };
}
