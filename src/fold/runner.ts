/**
 * The fold runner: plan → fold each planned vnode over the keyspaces it answers for → merge.
 *
 * 1. The query is validated by the module (`parseQuery`), the coverage plan drawn (forced offset and
 *    sample passed through; pvc 1, since every fold here merges disjoint slices).
 * 2. Each planned vnode folds its slice where the data is: the runner reads exactly what the
 *    module's `stateNeeds` names (heads, hash and size only, objects, index entries, or cached
 *    trees) through the Vnode interface, in batches of MAX_INPUT_BATCH. A run folds each node's
 *    vnodes one after another in a *lane* (`perNode` lanes a node), in parallel across nodes, and
 *    each vnode fold waits for a slot in its node's FoldQueue (a full queue fails the run with
 *    BACKLOG).
 * 3. A lane's vnodes fold into one accumulator, the lane's: each vnode's fold starts from where the
 *    previous one left it. That is the module's own law — folding A then B equals merging the folds
 *    of A and of B — put to work: a merge_tree_range lane fills one 4 MiB tree instead of allocating,
 *    filling, merging and dropping one per vnode (16 of them for a 16-vnode ring), which measured
 *    as most of what that fold cost beyond object_stats. A module's flush still runs after each of a
 *    vnode's batches and finally at its end, with that vnode in its context.
 * 4. Each lane's accumulator is merged into the run's as the lane finishes — in whatever order they
 *    finish, which is why a module's merge must be commutative and associative. The first lane's
 *    becomes the run's as it is (the empty accumulator is merge's identity): no merge, no copy.
 *
 * The accumulator's bound is checked after every batch and every merge (FOLD_ACC_OVERFLOW). An
 * AbortSignal, a timeout (TIMEOUT) or a failing vnode stops every other vnode's fold at its next
 * batch; the run settles every fold (so every iterator is closed) before it rejects.
 */
import { AaeError } from '../errors.js';
import { initHash } from '../hash/index.js';
import { plan, type CoveragePlan, type PlanInput, type PlanSample, type PlanSelector, type PlanUnavailable, type VnodeCoverage } from '../plan/index.js';
import type { FoldFilter, IndexFoldFilter, Vnode } from '../store/vnode.js';
import {
  MAX_INPUT_BATCH,
  type AnyFoldModule,
  type CoverageSummary,
  type FoldInput,
  type FoldModule,
  type FoldSummary,
  type FoldTarget,
  type HashSizeEntry,
  type KeySink,
  type ModuleFilter,
  type StateNeeds,
} from './contract.js';
import { parseFoldQuery } from './parse-query.js';
import { abortError, defaultScheduler, type FoldScheduler } from './queue.js';

/**
 * Vnode folds one run keeps in flight per node: one keeps every node of the plan reading (a vnode
 * fold is LevelDB-bound, and a 3-node embedded cluster on 2 cores is saturated by 3), and leaves
 * the node's other fold slots to other runs.
 */
export const DEFAULT_PER_NODE = 1;

export interface FoldProgress {
  vnodesDone: number;
  vnodesTotal: number;
  /** Items folded so far (heads, objects, index entries, or trees read). */
  items: number;
  elapsedMs: number;
}

export interface RunFoldOptions {
  /** Fix the coverage plan (0 … ringSize·nVal − 1); random without it. */
  offset?: number;
  /** Cover only part of the ring; the result says what it covered. */
  sample?: PlanSample;
  /** 'allup' folds what is available and reports what it missed; 'all' (default) fails instead. */
  selector?: PlanSelector;
  unavailable?: PlanUnavailable;
  signal?: AbortSignal;
  /** Fails the run with TIMEOUT after this many ms. */
  timeoutMs?: number;
  onProgress?: (p: FoldProgress) => void;
  /** The node queues to run in (default: the process-wide scheduler). */
  scheduler?: FoldScheduler;
  /** Vnode folds of this run in flight at once on each node (default 1). */
  perNode?: number;
  /** Where repl_keys_range (and modules like it) hand their keys. */
  sink?: KeySink;
  /** Random source for the offset when none is given. */
  random?: () => number;
}

export interface FoldCoverage extends CoverageSummary {
  nVal: number;
  offset: number;
  /** Keyspaces asked for but not covered (only with selector 'allup'). */
  missing: number[];
  complete: boolean;
  vnodes: Array<{ vnode: number; node: string; keyspaces: number[] }>;
}

export interface FoldTimings {
  planMs: number;
  /** From the first vnode fold starting to the last one merged. */
  foldMs: number;
  /** Time spent merging accumulators (inside foldMs). */
  mergeMs: number;
  totalMs: number;
}

export interface FoldRunResult<Query, Acc> {
  module: string;
  query: Query;
  acc: Acc;
  coverage: FoldCoverage;
  timings: FoldTimings;
  /** Items folded over every vnode. */
  items: number;
}

/** Validates `query` with the module, plans, folds and merges. */
export async function runFold<Query, Acc>(
  target: FoldTarget,
  module: FoldModule<Query, Acc>,
  query: unknown,
  options: RunFoldOptions = {},
): Promise<FoldRunResult<Query, Acc>> {
  const t0 = performance.now();
  const q = parseFoldQuery(module, query);
  const needs = module.stateNeeds(q);
  const filter = module.generateFilter(q);
  checkFilter(module.name, needs, filter);
  await initHash();

  const { spec } = target;
  const planInput: PlanInput = { ringSize: spec.ringSize, nVal: spec.nVal, owners: target.owners, selector: options.selector ?? 'all' };
  if (options.offset !== undefined) planInput.offset = options.offset;
  if (options.sample !== undefined) planInput.sample = options.sample;
  if (options.unavailable !== undefined) planInput.unavailable = options.unavailable;
  if (options.random !== undefined) planInput.random = options.random;
  const coveragePlan = plan(planInput);
  const t1 = performance.now();

  const perNode = options.perNode ?? DEFAULT_PER_NODE;
  if (!Number.isInteger(perNode) || perNode < 1) throw new AaeError('INVALID_ARGUMENT', `perNode must be a positive integer, got ${perNode}`);
  const scheduler = options.scheduler ?? defaultScheduler;
  const stop = new AbortController();
  let failure: unknown;
  const fail = (e: unknown): void => {
    if (failure === undefined) failure = e;
    if (!stop.signal.aborted) stop.abort(e);
  };
  const onCallerAbort = (): void => fail(abortError(options.signal!));
  if (options.signal?.aborted) throw abortError(options.signal);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => fail(new AaeError('TIMEOUT', `fold ${module.name} ran past its ${options.timeoutMs} ms timeout`)), options.timeoutMs);

  const bound = module.accBound(q);
  const merge = module.generateMergeFun(q);
  let total = module.generateAcc(q);
  let items = 0;
  let done = 0;
  let mergeMs = 0;
  const progress = (): void => {
    options.onProgress?.({ vnodesDone: done, vnodesTotal: coveragePlan.vnodes.length, items, elapsedMs: performance.now() - t0 });
  };
  const ctx: VnodeFoldContext<Query, Acc> = {
    target,
    module,
    q,
    needs,
    filter,
    bound,
    signal: stop.signal,
    sink: options.sink,
    counted: (n) => {
      items += n;
      progress();
    },
  };

  // One lane per node, each folding that node's planned vnodes `perNode` at a time: the run uses at
  // most `perNode` of a node's fold slots, so a run never queues behind (or BACKLOGs) itself.
  const byNode = new Map<string, VnodeCoverage[]>();
  for (const cov of coveragePlan.vnodes) {
    let list = byNode.get(cov.node);
    if (list === undefined) byNode.set(cov.node, (list = []));
    list.push(cov);
  }
  let lanesMerged = 0;
  const lane = async (node: string, vnodes: VnodeCoverage[]): Promise<void> => {
    const queue = scheduler.queue(node);
    let acc: Acc | undefined;
    try {
      while (failure === undefined) {
        const cov = vnodes.shift();
        if (cov === undefined) break;
        const from = acc ?? module.generateAcc(q);
        acc = await queue.run(() => foldVnode(ctx, cov, from), stop.signal);
        done++;
        progress();
      }
      if (acc === undefined || failure !== undefined) return;
      const m0 = performance.now();
      total = lanesMerged === 0 ? acc : merge(total, acc);
      lanesMerged++;
      checkBound(module.name, module.accSize(total), bound);
      mergeMs += performance.now() - m0;
    } catch (e) {
      fail(e);
    }
  };
  try {
    const lanes: Array<Promise<void>> = [];
    for (const [node, vnodes] of byNode) for (let i = 0; i < perNode; i++) lanes.push(lane(node, vnodes));
    await Promise.all(lanes);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
  if (failure !== undefined) throw normalise(failure, stop.signal);
  const t2 = performance.now();
  return {
    module: module.name,
    query: q,
    acc: total,
    coverage: coverageOf(coveragePlan, spec.ringSize, spec.nVal),
    timings: { planMs: t1 - t0, foldMs: t2 - t1, mergeMs, totalMs: t2 - t0 },
    items,
  };
}

/** runFold for a module whose types are opaque (the registry, a loaded file): the acc comes back as unknown. */
export function runAnyFold(target: FoldTarget, module: AnyFoldModule, query: unknown, options: RunFoldOptions = {}): Promise<FoldRunResult<unknown, unknown>> {
  return runFold<unknown, unknown>(target, module, query, options);
}

/** A run's result as JSON and a table, by the module's summarize (or the raw accumulator). */
export function summarizeRun<Query, Acc>(module: FoldModule<Query, Acc>, result: FoldRunResult<Query, Acc>): FoldSummary {
  if (module.summarize !== undefined) return module.summarize(result.acc, result.query, result.coverage);
  return { json: result.acc, table: { head: ['result'], rows: [[JSON.stringify(result.acc) ?? 'undefined']] } };
}

interface VnodeFoldContext<Query, Acc> {
  target: FoldTarget;
  module: FoldModule<Query, Acc>;
  q: Query;
  needs: StateNeeds;
  filter: ModuleFilter;
  bound: number;
  signal: AbortSignal;
  sink: KeySink | undefined;
  counted: (n: number) => void;
}

/** One vnode's fold over the keyspaces the plan gives it, continuing from `acc` (its lane's). */
async function foldVnode<Query, Acc>(ctx: VnodeFoldContext<Query, Acc>, cov: VnodeCoverage, from: Acc): Promise<Acc> {
  const { module, q, signal } = ctx;
  const vnode = ctx.target.vnode(cov.vnode);
  const fold = module.generateObjectFoldFun(q);
  const flush = module.generateFlushFun?.(q);
  let acc = from;
  const after = async (n: number): Promise<void> => {
    if (flush !== undefined) acc = await flush(acc, { final: false, vnode, target: ctx.target, signal, sink: ctx.sink });
    checkBound(module.name, module.accSize(acc), ctx.bound);
    ctx.counted(n);
  };
  const opts = { signal, batchSize: MAX_INPUT_BATCH };
  switch (ctx.needs) {
    case 'heads':
      requireCapability(vnode, vnode.capabilities.headFold, 'head folds');
      for await (const batch of vnode.foldHeads(headFilter(ctx.filter, cov.keyspaces), opts)) {
        for (const head of batch) acc = fold(acc, { kind: 'head', head });
        await after(batch.length);
      }
      break;
    case 'hash_size_only': {
      // A vnode that offers hash-and-size folds reads no clocks or index entries (most of a head's
      // decoding cost); any other vnode answers with whole heads, which carry the same fields.
      const f = headFilter(ctx.filter, cov.keyspaces);
      let batches: AsyncIterable<readonly HashSizeEntry[]>;
      if (vnode.capabilities.hashSizeFold) batches = vnode.foldHashSizes(f, opts);
      else {
        requireCapability(vnode, vnode.capabilities.headFold, 'head folds');
        batches = vnode.foldHeads(f, opts);
      }
      for await (const batch of batches) {
        for (const entry of batch) acc = fold(acc, { kind: 'hash_size', entry });
        await after(batch.length);
      }
      break;
    }
    case 'objects':
      requireCapability(vnode, vnode.capabilities.objectFold, 'object folds');
      for await (const batch of vnode.foldObjects(headFilter(ctx.filter, cov.keyspaces), opts)) {
        for (const object of batch) acc = fold(acc, { kind: 'object', object });
        await after(batch.length);
      }
      break;
    case 'index': {
      requireCapability(vnode, vnode.capabilities.indexFold, 'index folds');
      const ix = ctx.filter.index!;
      const f: IndexFoldFilter = { bucket: ix.bucket, index: ix.index, keyspaces: cov.keyspaces };
      if (ix.termRange !== undefined) f.termRange = ix.termRange;
      if (ix.keyRange !== undefined) f.keyRange = ix.keyRange;
      for await (const batch of vnode.foldIndex(f, opts)) {
        for (const entry of batch) acc = fold(acc, { kind: 'index', entry });
        await after(batch.length);
      }
      break;
    }
    case 'tree_cache':
      requireCapability(vnode, vnode.capabilities.treeCache, 'cached trees');
      acc = await foldCache(ctx, vnode, cov.keyspaces, acc, fold, after);
      break;
  }
  if (flush !== undefined) {
    acc = await flush(acc, { final: true, vnode, target: ctx.target, signal, sink: ctx.sink });
    checkBound(module.name, module.accSize(acc), ctx.bound);
  }
  return acc;
}

async function foldCache<Query, Acc>(
  ctx: VnodeFoldContext<Query, Acc>,
  vnode: Vnode,
  keyspaces: readonly number[],
  acc: Acc,
  fold: (acc: Acc, input: FoldInput) => Acc,
  after: (n: number) => Promise<void>,
): Promise<Acc> {
  const read = ctx.filter.cache!;
  const nVal = ctx.target.spec.nVal;
  if (read.read === 'clocks') {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    const clocks = await vnode.fetchClocks({ keyspaces }, read.segments, read.treeSize ?? vnode.treeSize, { signal: ctx.signal });
    acc = fold(acc, { kind: 'clocks', keyspaces, clocks });
    await after(clocks.length);
    return acc;
  }
  for (const keyspace of keyspaces) {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    const indexN = { keyspace, nVal };
    if (read.read === 'root') acc = fold(acc, { kind: 'root', indexN, root: await vnode.fetchRoot(indexN) });
    else if (read.read === 'words') {
      const words = new Uint32Array(read.ids.length);
      await vnode.xorWordsInto(indexN, read.width, read.ids, words);
      acc = fold(acc, { kind: 'words', indexN, words });
    } else acc = fold(acc, { kind: 'branches', indexN, branches: await vnode.fetchBranches(indexN, read.ids) });
    await after(1);
  }
  return acc;
}

function headFilter(f: ModuleFilter, keyspaces: readonly number[]): FoldFilter {
  const out: FoldFilter = { keyspaces };
  if (f.buckets !== undefined) out.buckets = f.buckets;
  if (f.keyRange !== undefined) out.keyRange = f.keyRange;
  if (f.segments !== undefined) out.segments = f.segments;
  if (f.modifiedRange !== undefined) out.modifiedRange = f.modifiedRange;
  return out;
}

function checkFilter(name: string, needs: StateNeeds, filter: ModuleFilter): void {
  if (needs === 'index' && filter.index === undefined) {
    throw new AaeError('FOLD_MODULE_INVALID', `fold module ${name} needs 'index' but its filter names no index`);
  }
  if (needs === 'tree_cache' && filter.cache === undefined) {
    throw new AaeError('FOLD_MODULE_INVALID', `fold module ${name} needs 'tree_cache' but its filter says nothing to read`);
  }
}

function requireCapability(vnode: Vnode, has: boolean, what: string): void {
  if (!has) throw new AaeError('INVALID_ARGUMENT', `vnode ${vnode.id} on ${vnode.node} does not offer ${what}`);
}

export function checkBound(name: string, size: number, bound: number): void {
  if (size > bound) {
    throw new AaeError('FOLD_ACC_OVERFLOW', `fold ${name}: its accumulator reached ${size}, over its bound of ${bound}; narrow the query or raise its limit`, {
      details: { size, bound },
    });
  }
}

/** A failure as the caller should see it: the abort's own error (TIMEOUT, ABORTED) rather than a store's wrapper of it. */
function normalise(failure: unknown, signal: AbortSignal): unknown {
  if (failure instanceof AaeError && failure.code === 'ABORTED' && signal.aborted && signal.reason instanceof AaeError) return signal.reason;
  return failure;
}

function coverageOf(p: CoveragePlan, ringSize: number, nVal: number): FoldCoverage {
  return {
    fraction: p.fraction,
    keyspaces: p.covered,
    ringSize,
    nVal,
    offset: p.offset,
    missing: p.missing,
    complete: p.complete,
    vnodes: p.vnodes.map((v) => ({ vnode: v.vnode, node: v.node, keyspaces: v.keyspaces })),
  };
}
