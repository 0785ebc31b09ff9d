/**
 * The node side of a fold: run a module over some of this node's vnodes and stream back what the
 * node contract's `fold` answers — progress, the keys the module hands over as it goes, and finally
 * the encoded accumulator. The data read never leaves the node: only accumulators and handed-over
 * keys do.
 *
 * The node's vnodes of one request fold one after another into one accumulator: folding A then B
 * equals merging the folds of A and of B (the module's own law), and a merge_tree_range request
 * fills one 4 MiB tree instead of allocating, filling, merging and dropping one per vnode. Each
 * vnode's fold holds one slot of the node's FoldQueue while it runs, so concurrent requests from any
 * number of callers share the node's limits (and a full queue answers BACKLOG). Reads of the cached
 * trees (`tree_cache`: a root, some branches or words, the clocks of a few segments) take no slot:
 * they cost a copy of a few KiB or a seek per segment, never a scan, and an exchange — dozens at
 * once inside one cluster — must not be refused BACKLOG behind the scans the queue exists to bound.
 *
 * What is read follows the module's `stateNeeds` exactly (heads, hash and size only, objects, index
 * entries, or cached trees), in batches of MAX_INPUT_BATCH. The module's flush runs after every
 * batch and once more at the end of each vnode, with that vnode (and only it) in its context; the
 * key batches it returns are yielded one at a time, so a caller that takes them slowly slows the
 * fold rather than filling memory. The accumulator's bound is checked after every batch and flush.
 *
 * The module's code runs in a session (session.ts): its own functions in this thread, or a
 * plugin's worker, which folds a batch while this loop reads the next. A throw from the module's
 * own code becomes FOLD_MODULE_FAILED naming the node and vnode (with the module's error as its
 * cause); an AaeError the module raises on purpose (FOLD_ACC_OVERFLOW) passes as it is. The signal
 * is checked between batches.
 */
import { AaeError } from '../errors.js';
import type { FoldEvent, FoldShare, WriteOp } from '../node/index.js';
import type { FoldFilter, IndexFoldFilter, Vnode } from '../store/vnode.js';
import { MAX_INPUT_BATCH, type FoldInput, type ModuleFilter, type StateNeeds, type VnodeHandle } from './contract.js';
import { abortError, type FoldQueue } from './queue.js';
import type { FoldSession, InputBatch } from './session.js';

export { checkBound, moduleFailure } from './failure.js';

/** At most one progress event per this many ms between vnodes (a remote caller need not hear of every batch). */
const PROGRESS_EVERY_MS = 250;

export interface ExecuteFold {
  /** The node's name, for errors. */
  node: string;
  /** The request's module code, opened on its query (in this thread, or a plugin's worker). */
  session: FoldSession;
  shares: readonly FoldShare[];
  /** The node's vnode of an id (the caller has checked the node holds every share's vnode and keyspaces). */
  vnode: (id: number) => Vnode;
  nVal: number;
  queue: FoldQueue;
  signal: AbortSignal;
  /** The caller takes emitted keys. */
  emits: boolean;
}

/** Runs the session over the shares' vnodes, one after another; the caller closes the session. */
export async function* executeFold(x: ExecuteFold): AsyncGenerator<FoldEvent> {
  const { session, signal } = x;
  const needs = session.needs;
  const filter = session.filter;
  let items = 0;
  let vnodesDone = 0;
  let lastProgress = performance.now();

  for (const share of x.shares) {
    if (signal.aborted) throw abortError(signal);
    const vnode = x.vnode(share.vnode);
    const where = `node ${x.node}, vnode ${share.vnode}`;
    const handle = vnodeHandle(vnode);
    const release = needs === 'tree_cache' ? () => undefined : await x.queue.acquire(signal);
    try {
      const afterBatch = async function* (n: number, final: boolean): AsyncGenerator<FoldEvent> {
        const emit = await session.afterBatch({ final, vnode: handle, signal, emits: x.emits }, where);
        if (emit !== undefined) {
          for (const keys of emit) {
            if (keys.length === 0) continue;
            if (signal.aborted) throw abortError(signal);
            yield { kind: 'keys', keys };
          }
        }
        items += n;
        if (!final && performance.now() - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = performance.now();
          yield { kind: 'progress', vnodesDone, items };
        }
      };
      for await (const batch of readInputs(vnode, needs, filter, share.keyspaces, x.nVal, signal)) {
        await session.fold(batch, where);
        yield* afterBatch(batch.items.length, false);
      }
      yield* afterBatch(0, true);
    } finally {
      release();
    }
    vnodesDone++;
    lastProgress = performance.now();
    yield { kind: 'progress', vnodesDone, items };
  }
  const bytes = await session.finish(`node ${x.node}`);
  yield { kind: 'result', acc: bytes, items };
}

/** The batches a vnode's fold reads, as fold inputs, by what the module needs. */
async function* readInputs(
  vnode: Vnode,
  needs: StateNeeds,
  filter: ModuleFilter,
  keyspaces: readonly number[],
  nVal: number,
  signal: AbortSignal,
): AsyncGenerator<InputBatch> {
  const opts = { signal, batchSize: MAX_INPUT_BATCH };
  switch (needs) {
    case 'heads':
      requireCapability(vnode, vnode.capabilities.headFold, 'head folds');
      for await (const items of vnode.foldHeads(headFilter(filter, keyspaces), opts)) yield { kind: 'head', items };
      return;
    case 'hash_size_only': {
      // A vnode that offers hash-and-size folds reads no clocks or index entries (most of a head's
      // decoding cost); any other answers with whole heads, which carry the same fields.
      const f = headFilter(filter, keyspaces);
      if (vnode.capabilities.hashSizeFold) {
        for await (const items of vnode.foldHashSizes(f, opts)) yield { kind: 'hash_size', items };
      } else {
        requireCapability(vnode, vnode.capabilities.headFold, 'head folds');
        for await (const items of vnode.foldHeads(f, opts)) yield { kind: 'hash_size', items };
      }
      return;
    }
    case 'objects':
      requireCapability(vnode, vnode.capabilities.objectFold, 'object folds');
      for await (const items of vnode.foldObjects(headFilter(filter, keyspaces), opts)) yield { kind: 'object', items };
      return;
    case 'index': {
      requireCapability(vnode, vnode.capabilities.indexFold, 'index folds');
      const ix = filter.index!;
      const f: IndexFoldFilter = { bucket: ix.bucket, index: ix.index, keyspaces };
      if (ix.termRange !== undefined) f.termRange = ix.termRange;
      if (ix.keyRange !== undefined) f.keyRange = ix.keyRange;
      for await (const items of vnode.foldIndex(f, opts)) yield { kind: 'index', items };
      return;
    }
    case 'tree_cache':
      requireCapability(vnode, vnode.capabilities.treeCache, 'cached trees');
      for await (const items of readCache(vnode, filter, keyspaces, nVal, signal)) yield { kind: 'cache', items };
      return;
  }
}

/** Cached-tree reads: one input per keyspace (a root, branches or words), or the clocks of some segments. */
async function* readCache(vnode: Vnode, filter: ModuleFilter, keyspaces: readonly number[], nVal: number, signal: AbortSignal): AsyncGenerator<readonly FoldInput[]> {
  const read = filter.cache!;
  if (read.read === 'clocks') {
    if (signal.aborted) throw abortError(signal);
    const clocks = await vnode.fetchClocks({ keyspaces }, read.segments, read.treeSize ?? vnode.treeSize, { signal });
    yield [{ kind: 'clocks', keyspaces, clocks }];
    return;
  }
  for (const keyspace of keyspaces) {
    if (signal.aborted) throw abortError(signal);
    const indexN = { keyspace, nVal };
    if (read.read === 'root') yield [{ kind: 'root', indexN, root: await vnode.fetchRoot(indexN) }];
    else if (read.read === 'words') {
      const words = new Uint32Array(read.ids.length);
      await vnode.xorWordsInto(indexN, read.width, read.ids, words);
      yield [{ kind: 'words', indexN, words }];
    } else yield [{ kind: 'branches', indexN, branches: await vnode.fetchBranches(indexN, read.ids) }];
  }
}

/** The vnode as a flush sees it: its own heads and writes, nothing else. */
function vnodeHandle(vnode: Vnode): VnodeHandle {
  return {
    id: vnode.id,
    write: (ops: readonly WriteOp[]) => vnode.write(ops),
  };
}

function headFilter(f: ModuleFilter, keyspaces: readonly number[]): FoldFilter {
  const out: FoldFilter = { keyspaces };
  if (f.buckets !== undefined) out.buckets = f.buckets;
  if (f.keyRange !== undefined) out.keyRange = f.keyRange;
  if (f.segments !== undefined) out.segments = f.segments;
  if (f.modifiedRange !== undefined) out.modifiedRange = f.modifiedRange;
  return out;
}

function requireCapability(vnode: Vnode, has: boolean, what: string): void {
  if (!has) throw new AaeError('NODE_REQUEST_INVALID', `vnode ${vnode.id} on ${vnode.node} does not offer ${what}`);
}
