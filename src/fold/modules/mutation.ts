import { z } from 'zod';
import type { ObjectHead } from '../../cluster/object.js';
import type { WriteOp } from '../../node/index.js';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, MAX_INPUT_BATCH, type FlushContext, type FlushOutput, type FoldInput, type FoldModule } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { abortError } from '../queue.js';
import { compareKeyed } from './key-list.js';
import { rangeFilter, rangeWithSegmentsFields, type RangeQuery } from './query-parts.js';

/**
 * The mutating folds, reap_tombs and erase_keys, share one shape. By default they only count what
 * they match (Riak's `count` change method: cheaper than listing it), over a coverage plan: one
 * replica of each keyspace, so `found` counts keys.
 *
 * Told to act, they run on every replica instead (every vnode over every keyspace it holds), and
 * each vnode removes its own matching records through its own writes: a fold on a node never
 * writes anywhere but the vnode it is folding, so the fold stays on the node and every replica's
 * cached tree stays current. `found` then counts replica records matched, `removed` those erased.
 * They act in batches of `batchSize` keys and pause `pauseMs` after each batch, so a large reap does
 * not starve the cluster's writes.
 *
 * Each erase is conditional, decided inside the vnode's write step: it lands only while the vnode
 * still holds the version the fold matched (the same object hash, and for reap_tombs still a
 * tombstone). A write that lands between the fold and the erase is kept and counted as skipped.
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
  /** The object hash the fold matched: the erase lands only while the vnode still holds it. */
  hash: number;
}

export interface MutationAcc {
  pending: PendingKey[];
  /** Keys matched (count), or replica records matched (act). */
  found: number;
  /** Replica records removed. */
  removed: number;
  /** Replica records left alone: a write replaced the matched version before the erase. */
  skipped: number;
}

interface MutationSpec {
  name: string;
  /** The change method that acts: 'reap' or 'erase'. */
  verb: string;
  description: string;
  matches: (head: ObjectHead) => boolean;
  /** reap_tombs erases a record only while it is still a tombstone. */
  onlyTombstones: boolean;
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

async function act(spec: MutationSpec, q: MutationQuery, acc: MutationAcc, ctx: FlushContext): Promise<FlushOutput<MutationAcc>> {
  while (acc.pending.length >= q.batchSize || (ctx.final && acc.pending.length > 0)) {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    const batch = acc.pending.slice(0, q.batchSize);
    const ops: WriteOp[] = batch.map((k) => ({ kind: 'erase', bucket: k.bucket, key: k.key, ifHash: k.hash, ...(spec.onlyTombstones ? { ifDeleted: true } : {}) }));
    const previous = await ctx.vnode.write(ops);
    previous.forEach((h, i) => {
      const landed = h !== null && h.hash === batch[i]!.hash && (!spec.onlyTombstones || h.deleted);
      if (landed) acc.removed++;
      else acc.skipped++;
    });
    acc.pending = acc.pending.slice(batch.length);
    await sleep(q.pauseMs, ctx.signal);
  }
  return { acc };
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
    version: BUILTIN_MODULE_VERSION,
    mutates: true,
    description: spec.description,
    parseQuery(input) {
      const { change, ...rest } = parseWith(spec.name, schema, input);
      return { ...rest, act: change !== 'count' };
    },
    stateNeeds: () => 'heads',
    coverage: (q) => (q.act ? 'every_replica' : 'plan'),
    generateFilter: rangeFilter,
    generateAcc: () => ({ pending: [], found: 0, removed: 0, skipped: 0 }),
    generateMergeFun: () => (a, b) => ({
      pending: [...a.pending, ...b.pending].sort((x, y) => compareKeyed(x, y) || x.hash - y.hash),
      found: a.found + b.found,
      removed: a.removed + b.removed,
      skipped: a.skipped + b.skipped,
    }),
    generateObjectFoldFun: (q) => (acc: MutationAcc, input: FoldInput) => {
      if (input.kind !== 'head' || !spec.matches(input.head)) return acc;
      acc.found++;
      if (q.act) acc.pending.push({ bucket: input.head.bucket, key: input.head.key, hash: input.head.hash });
      return acc;
    },
    generateFlushFun: (q) => async (acc, ctx) => (q.act ? act(spec, q, acc, ctx) : { acc }),
    /** Pending keys: an act batch left over plus one input batch. */
    accBound: (q) => q.batchSize + MAX_INPUT_BATCH,
    accSize: (acc) => acc.pending.length,
    summarize(acc, q) {
      const json = { change: q.act ? spec.verb : 'count', found: acc.found, removed: acc.removed, skipped: acc.skipped };
      return { json, table: { head: ['change', q.act ? 'replica records found' : 'found', 'removed', 'skipped'], rows: [[json.change, acc.found, acc.removed, acc.skipped]] } };
    },
  };
}
