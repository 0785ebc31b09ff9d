import { z } from 'zod';
import { BUILTIN_MODULE_VERSION, FOLD_API_VERSION, MAX_INPUT_BATCH, type FlushContext, type FlushOutput, type FoldInput, type FoldModule, type KeyClock } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { clockTie, mergeKeyed } from './key-list.js';
import { rangeFilter, rangeWithSegmentsFields, type RangeQuery } from './query-parts.js';

/**
 * repl_keys_range: hands every key and clock in a bucket / key range / modified range to the
 * caller, in batches — range replication (a bucket moving to a new cluster, a known outage window
 * to replay, the repair of large damage). The node streams each batch to the caller and folds on
 * only once it is taken, so a slow caller slows the fold instead of filling memory. A caller that
 * takes no keys gets only the count of what would have been handed over (`found`; `dispatched`
 * stays 0).
 *
 * The accumulator holds at most one batch plus one input batch of pending keys and two counters;
 * it is flushed after every input batch.
 */

/** Keys per batch by default, as Riak's repl batch: small enough that a remote caller answers quickly. */
export const DEFAULT_REPL_BATCH = 128;

export interface ReplKeysQuery extends RangeQuery {
  batchSize: number;
}

export interface ReplAcc {
  pending: KeyClock[];
  found: number;
  dispatched: number;
}

const schema = z.strictObject({ ...rangeWithSegmentsFields, batchSize: z.number().int().min(1).max(10_000).default(DEFAULT_REPL_BATCH) });

function flush(q: ReplKeysQuery, acc: ReplAcc, ctx: FlushContext): Promise<FlushOutput<ReplAcc>> {
  if (!ctx.emits) {
    acc.pending = [];
    return Promise.resolve({ acc });
  }
  const emit: KeyClock[][] = [];
  let at = 0;
  while (acc.pending.length - at >= q.batchSize || (ctx.final && acc.pending.length > at)) {
    const batch = acc.pending.slice(at, at + q.batchSize);
    emit.push(batch);
    at += batch.length;
    acc.dispatched += batch.length;
  }
  if (at > 0) acc.pending = acc.pending.slice(at);
  return Promise.resolve({ acc, emit });
}

export const replKeysRange: FoldModule<ReplKeysQuery, ReplAcc> = {
  name: 'repl_keys_range',
  apiVersion: FOLD_API_VERSION,
  version: BUILTIN_MODULE_VERSION,
  description: 'hands keys and clocks of a range to the caller in batches (range replication)',
  parseQuery: (input) => parseWith('repl_keys_range', schema, input),
  stateNeeds: () => 'heads',
  generateFilter: rangeFilter,
  generateAcc: () => ({ pending: [], found: 0, dispatched: 0 }),
  generateMergeFun: () => (a, b) => ({ pending: mergeKeyed(a.pending, b.pending, clockTie), found: a.found + b.found, dispatched: a.dispatched + b.dispatched }),
  generateObjectFoldFun: () => (acc: ReplAcc, input: FoldInput) => {
    if (input.kind !== 'head') return acc;
    const h = input.head;
    acc.pending.push({ bucket: h.bucket, key: h.key, clock: h.clock, deleted: h.deleted, hash: h.hash });
    acc.found++;
    return acc;
  },
  generateFlushFun: (q) => (acc, ctx) => flush(q, acc, ctx),
  /** Pending keys: a batch left over plus one input batch. */
  accBound: (q) => q.batchSize + MAX_INPUT_BATCH,
  accSize: (acc) => acc.pending.length,
  summarize(acc) {
    return {
      json: { found: acc.found, dispatched: acc.dispatched },
      table: { head: ['found', 'dispatched'], rows: [[acc.found, acc.dispatched]] },
    };
  },
};
