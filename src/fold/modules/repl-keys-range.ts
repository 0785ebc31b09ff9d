import { z } from 'zod';
import { FOLD_API_VERSION, MAX_INPUT_BATCH, type FlushContext, type FoldInput, type FoldModule, type KeyClock } from '../contract.js';
import { parseWith } from '../parse-query.js';
import { abortError } from '../queue.js';
import { clockTie, mergeKeyed } from './key-list.js';
import { rangeFilter, rangeWithSegmentsFields, type RangeQuery } from './query-parts.js';

/**
 * repl_keys_range: hands every key and clock in a bucket / key range / modified range to a sink,
 * in batches — range replication (a bucket moving to a new cluster, or a known outage window to
 * replay). The sink is the caller's (`runFold(..., { sink })`); the fold waits for it, so a slow
 * sink slows the fold instead of filling memory. Without a sink the run only counts what it would
 * have handed over (`found`; `dispatched` stays 0).
 *
 * The accumulator holds at most one sink batch plus one input batch of pending keys and two
 * counters; it is flushed after every input batch.
 */

/** Keys per sink call by default, as Riak's repl batch: small enough that a remote sink answers quickly. */
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

async function flush(q: ReplKeysQuery, acc: ReplAcc, ctx: FlushContext): Promise<ReplAcc> {
  if (ctx.sink === undefined) {
    acc.pending = [];
    return acc;
  }
  while (acc.pending.length >= q.batchSize || (ctx.final && acc.pending.length > 0)) {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    const batch = acc.pending.slice(0, q.batchSize);
    await ctx.sink(batch, { signal: ctx.signal });
    acc.pending = acc.pending.slice(batch.length);
    acc.dispatched += batch.length;
  }
  return acc;
}

export const replKeysRange: FoldModule<ReplKeysQuery, ReplAcc> = {
  name: 'repl_keys_range',
  apiVersion: FOLD_API_VERSION,
  description: 'hands keys and clocks of a range to a sink in batches (range replication)',
  parseQuery: (input) => parseWith('repl_keys_range', schema, input),
  stateNeeds: () => 'heads',
  generateFilter: rangeFilter,
  generateAcc: () => ({ pending: [], found: 0, dispatched: 0 }),
  generateMergeFun: () => (a, b) => ({ pending: mergeKeyed(a.pending, b.pending, clockTie), found: a.found + b.found, dispatched: a.dispatched + b.dispatched }),
  generateObjectFoldFun: () => (acc: ReplAcc, input: FoldInput) => {
    if (input.kind !== 'head') return acc;
    const h = input.head;
    acc.pending.push({ bucket: h.bucket, key: h.key, clock: h.clock, deleted: h.deleted });
    acc.found++;
    return acc;
  },
  generateFlushFun: (q) => (acc, ctx) => flush(q, acc, ctx),
  /** Pending keys: a sink batch left over plus one input batch. */
  accBound: (q) => q.batchSize + MAX_INPUT_BATCH,
  accSize: (acc) => acc.pending.length,
  summarize(acc) {
    return {
      json: { found: acc.found, dispatched: acc.dispatched },
      table: { head: ['found', 'dispatched'], rows: [[acc.found, acc.dispatched]] },
    };
  },
};
