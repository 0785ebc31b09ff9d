/**
 * The fold runner, the coordinator's side of a fold: plan → send each node its share → merge.
 *
 * 1. The query is validated here first, by the module (`parseQuery`): a bad query fails before any
 *    node is asked. The coverage is drawn: a coverage plan (forced offset and sample passed through,
 *    pvc 1, since every fold merges disjoint slices), every replica (a module that acts on each
 *    replica's own data, `coverage(q) === 'every_replica'`), or the caller's own shares (one vnode's
 *    keyspaces, to compare replicas).
 * 2. Each node gets one fold request (or `perNode` of them) over the node contract: the module's
 *    name and version, the query as the caller gave it, and the node's planned vnodes and keyspaces.
 *    The node validates the query again (it is an edge too), folds its vnodes where the data is, and
 *    streams back progress, handed-over keys (passed to the caller's `sink`, which the fold waits
 *    for) and the encoded accumulator.
 * 3. Accumulators are decoded by the module's codec and merged as nodes finish — in whatever order,
 *    which is why a module's merge must be commutative and associative. The first to arrive becomes
 *    the run's as it is (the empty accumulator is merge's identity).
 *
 * The accumulator's bound is checked after every merge (each node checks it after every batch). An
 * AbortSignal, a timeout (TIMEOUT) or a failing node stops every other node's fold; the run does not
 * wait for a node that ignores the stop (a module's promise that never settles): it fails at once.
 */
import { AaeError, isAaeError } from '../errors.js';
import { initHash } from '../hash/index.js';
import type { ClusterNodes, FoldEvent, FoldRequest, FoldShare } from '../node/index.js';
import { plan, type CoveragePlan, type PlanInput, type PlanSample, type PlanSelector, type PlanUnavailable } from '../plan/index.js';
import { plainCodec } from './acc-codecs.js';
import type { AnyFoldModule, CoverageSummary, FoldModule, FoldSummary, KeySink } from './contract.js';
import { checkBound, moduleFailure } from './execute.js';
import { parseFoldQuery } from './parse-query.js';
import { abortError } from './queue.js';
import { raceAbort } from '../abort.js';

/** Fold requests one run keeps in flight per node: a node folds its vnodes of a request one after another. */
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
  /** Fold exactly these vnodes and keyspaces instead of drawing a plan (each vnode must hold its keyspaces). */
  shares?: readonly FoldShare[];
  /** A semver range the nodes' module must satisfy (default: exactly the caller's module version). */
  version?: string;
  /** The digest of the plugin files this side merges with: nodes whose copy differs refuse (PLUGIN_MISMATCH). */
  digest?: string;
  signal?: AbortSignal;
  /** Fails the run with TIMEOUT after this many ms. */
  timeoutMs?: number;
  onProgress?: (p: FoldProgress) => void;
  /** Fold requests of this run in flight at once on each node (default 1). */
  perNode?: number;
  /** Where repl_keys_range (and modules like it) hand their keys, on this side. */
  sink?: KeySink;
  /** Random source for the offset when none is given. */
  random?: () => number;
}

export interface FoldCoverage extends CoverageSummary {
  nVal: number;
  /** The plan's offset; null when the run folded given shares or every replica. */
  offset: number | null;
  /** Keyspaces asked for but not covered (only with selector 'allup'). */
  missing: number[];
  complete: boolean;
  vnodes: Array<{ vnode: number; node: string; keyspaces: number[] }>;
}

export interface FoldTimings {
  planMs: number;
  /** From the first request sent to the last accumulator merged. */
  foldMs: number;
  /** Time spent decoding and merging accumulators (inside foldMs). */
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

interface Lane {
  node: string;
  request: FoldRequest;
  done: number;
  items: number;
}

/**
 * Validates `query` with the module, draws the coverage, folds on the nodes and merges.
 *
 * A node found unreachable (NODE_UNAVAILABLE) during a run over a coverage plan is reported to the
 * cluster (markUnavailable) and the run starts again, with the same offset, on a plan that routes
 * around it — unless the run cannot be repeated safely: a mutating module, keys already handed to
 * the caller's sink, or shares the caller fixed. A plan that cannot route around the nodes that
 * are down fails with NODE_UNAVAILABLE naming them.
 */
export async function runFold<Query, Acc>(target: ClusterNodes, module: FoldModule<Query, Acc>, query: unknown, options: RunFoldOptions = {}): Promise<FoldRunResult<Query, Acc>> {
  const repeatable = options.shares === undefined && options.sink === undefined && module.mutates !== true && target.markUnavailable !== undefined;
  const { ringSize, nVal } = target.params;
  // One offset for every attempt: a rerun covers the same keyspaces from the same replicas where it can.
  const fixed = options.offset === undefined && options.shares === undefined ? { ...options, offset: Math.floor((options.random ?? Math.random)() * ringSize * nVal) } : options;
  for (;;) {
    try {
      return await runFoldOnce(target, module, query, fixed);
    } catch (e) {
      const node = isAaeError(e, 'NODE_UNAVAILABLE') ? e.details?.['node'] : undefined;
      if (!repeatable || typeof node !== 'string' || target.unavailable?.has(node) === true || !target.owners.includes(node)) throw e;
      target.markUnavailable!(node);
    }
  }
}

async function runFoldOnce<Query, Acc>(target: ClusterNodes, module: FoldModule<Query, Acc>, query: unknown, options: RunFoldOptions): Promise<FoldRunResult<Query, Acc>> {
  const t0 = performance.now();
  const input = query ?? {};
  const q = parseFoldQuery(module, input);
  await initHash();
  const coverage = drawCoverage(target, module.coverage?.(q) ?? 'plan', options);
  const t1 = performance.now();

  const perNode = options.perNode ?? DEFAULT_PER_NODE;
  if (!Number.isInteger(perNode) || perNode < 1) throw new AaeError('INVALID_ARGUMENT', `perNode must be a positive integer, got ${perNode}`);
  const lanes = lanesOf(target, coverage.vnodes, perNode, {
    module: module.name,
    ...(options.version !== undefined ? { version: options.version } : module.version !== undefined ? { version: module.version } : {}),
    query: input,
    emit: options.sink !== undefined,
    ...(options.digest === undefined ? {} : { digest: options.digest }),
  });

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
  const codec = module.accCodec ?? plainCodec<Query, Acc>();
  let total: Acc | undefined;
  let items = 0;
  let mergeMs = 0;
  const progress = (): void => {
    if (options.onProgress === undefined) return;
    let done = 0;
    let seen = 0;
    for (const l of lanes) {
      done += l.done;
      seen += l.items;
    }
    options.onProgress({ vnodesDone: done, vnodesTotal: coverage.vnodes.length, items: seen, elapsedMs: performance.now() - t0 });
  };
  const onResult = (lane: Lane, bytes: Uint8Array, n: number): void => {
    const m0 = performance.now();
    let acc: Acc;
    let merged: Acc;
    try {
      acc = codec.decode(bytes, q);
      merged = total === undefined ? acc : merge(total, acc);
    } catch (e) {
      throw moduleFailure(module.name, `the accumulator of node ${lane.node}`, e);
    }
    checkBound(module.name, module.accSize(merged), bound);
    total = merged;
    items += n;
    lane.done = lane.request.vnodes.length;
    lane.items = n;
    mergeMs += performance.now() - m0;
  };
  const runLane = async (lane: Lane): Promise<void> => {
    try {
      const events = target.node(lane.node).fold(lane.request, { signal: stop.signal });
      for await (const ev of untilAborted(events, stop.signal)) {
        if (ev.kind === 'progress') {
          lane.done = ev.vnodesDone;
          lane.items = ev.items;
          progress();
        } else if (ev.kind === 'keys') {
          if (options.sink !== undefined) await untilAbortedPromise(options.sink(ev.keys, { signal: stop.signal }), stop.signal);
        } else {
          onResult(lane, ev.acc, ev.items);
          progress();
          return;
        }
      }
      throw new AaeError('NODE_UNAVAILABLE', `node ${lane.node} ended fold ${module.name} without a result`);
    } catch (e) {
      fail(stop.signal.aborted && isAaeError(e, 'ABORTED') ? (failure ?? e) : e);
    }
  };
  try {
    await Promise.all(lanes.map(runLane));
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
  if (failure !== undefined) throw normalise(failure, stop.signal);
  const t2 = performance.now();
  return {
    module: module.name,
    query: q,
    acc: total ?? module.generateAcc(q),
    coverage,
    timings: { planMs: t1 - t0, foldMs: t2 - t1, mergeMs, totalMs: t2 - t0 },
    items,
  };
}

/** runFold for a module whose types are opaque (the registry, a loaded file): the acc comes back as unknown. */
export function runAnyFold(target: ClusterNodes, module: AnyFoldModule, query: unknown, options: RunFoldOptions = {}): Promise<FoldRunResult<unknown, unknown>> {
  return runFold<unknown, unknown>(target, module, query, options);
}

/** A run's result as JSON and a table, by the module's summarize (or the raw accumulator). */
export function summarizeRun<Query, Acc>(module: FoldModule<Query, Acc>, result: FoldRunResult<Query, Acc>): FoldSummary {
  if (module.summarize !== undefined) return module.summarize(result.acc, result.query, result.coverage);
  return { json: result.acc, table: { head: ['result'], rows: [[JSON.stringify(result.acc) ?? 'undefined']] } };
}

/** The vnodes a run asks, and what that covers. */
function drawCoverage(target: ClusterNodes, kind: 'plan' | 'every_replica', options: RunFoldOptions): FoldCoverage {
  const { ringSize, nVal } = target.params;
  if (options.shares !== undefined) {
    const vnodes = options.shares.map((s) => ({ vnode: s.vnode, node: ownerOf(target, s.vnode), keyspaces: [...s.keyspaces] }));
    const keyspaces = [...new Set(vnodes.flatMap((v) => v.keyspaces))].sort((a, b) => a - b);
    return { fraction: keyspaces.length / ringSize, keyspaces, ringSize, nVal, offset: null, missing: [], complete: true, vnodes };
  }
  const input: PlanInput = { ringSize, nVal, owners: target.owners, selector: options.selector ?? 'all' };
  if (kind === 'every_replica') input.pvc = nVal;
  if (options.offset !== undefined) input.offset = options.offset;
  if (options.sample !== undefined) input.sample = options.sample;
  const down = [...(target.unavailable ?? [])];
  if (options.unavailable !== undefined || down.length > 0) {
    input.unavailable = { ...options.unavailable, nodes: [...(options.unavailable?.nodes ?? []), ...down] };
  }
  if (options.random !== undefined) input.random = options.random;
  let p: CoveragePlan;
  try {
    p = plan(input);
  } catch (e) {
    if (!isAaeError(e, 'PLAN_INCOMPLETE') || down.length === 0) throw e;
    const missing = (e.details?.['missing'] as number[] | undefined) ?? [];
    throw new AaeError('NODE_UNAVAILABLE', `node${down.length > 1 ? 's' : ''} ${down.join(', ')} of cluster ${target.name} ${down.length > 1 ? 'are' : 'is'} unreachable, and ${missing.length} keyspace(s) have no other replica up`, {
      cause: e,
      details: { node: down[0], nodes: down, missing },
    });
  }
  return {
    fraction: p.fraction,
    keyspaces: p.covered,
    ringSize,
    nVal,
    offset: kind === 'plan' ? p.offset : null,
    missing: p.missing,
    complete: p.complete,
    vnodes: p.vnodes.map((v) => ({ vnode: v.vnode, node: v.node, keyspaces: v.keyspaces })),
  };
}

function ownerOf(target: ClusterNodes, vnode: number): string {
  const owner = target.owners[vnode];
  if (owner === undefined) throw new AaeError('INVALID_ARGUMENT', `no vnode ${vnode} in a ring of ${target.params.ringSize}`);
  return owner;
}

/** One request per node (or `perNode`, dealing its vnodes round-robin), keeping the plan's order within each. */
function lanesOf(target: ClusterNodes, vnodes: FoldCoverage['vnodes'], perNode: number, base: Omit<FoldRequest, 'vnodes'>): Lane[] {
  const byNode = new Map<string, FoldShare[][]>();
  const counts = new Map<string, number>();
  for (const v of vnodes) {
    let parts = byNode.get(v.node);
    if (parts === undefined) byNode.set(v.node, (parts = Array.from({ length: perNode }, () => [])));
    const n = counts.get(v.node) ?? 0;
    counts.set(v.node, n + 1);
    parts[n % perNode]!.push({ vnode: v.vnode, keyspaces: v.keyspaces });
  }
  const lanes: Lane[] = [];
  for (const [node, parts] of byNode) {
    target.node(node); // an unknown node fails here, before any request is sent
    for (const shares of parts) if (shares.length > 0) lanes.push({ node, request: { ...base, vnodes: shares }, done: 0, items: 0 });
  }
  return lanes;
}

/** The events of a node's fold, failing at once when `signal` fires (without waiting for the node to stop). */
async function* untilAborted(events: AsyncIterable<FoldEvent>, signal: AbortSignal): AsyncGenerator<FoldEvent> {
  const it = events[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const r = await untilAbortedPromise(it.next(), signal);
      if (r.done === true) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } finally {
    // Closing the node's stream releases its iterators and queue slot; a node stuck in a module's
    // own promise closes when that settles, and the run does not wait for it.
    if (!finished) it.return?.().catch(() => undefined);
  }
}

function untilAbortedPromise<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceAbort(p, signal, abortError);
}

/** A failure as the caller should see it: the abort's own error (TIMEOUT, ABORTED) rather than a store's wrapper of it. */
function normalise(failure: unknown, signal: AbortSignal): unknown {
  if (failure instanceof AaeError && failure.code === 'ABORTED' && signal.aborted && signal.reason instanceof AaeError) return signal.reason;
  return failure;
}
