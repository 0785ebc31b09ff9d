/**
 * How a node runs one fold request's module code: a *session*. The node's executor (execute.ts)
 * reads the vnodes and hands each batch to the session; the session folds it, flushes, checks the
 * bound and finally encodes the accumulator. Two kinds exist:
 *
 * - in this thread (`inThreadSession`): the module's own functions, called directly — the
 *   built-ins, and a module a caller in this process loaded from a file;
 * - in a worker (src/plugin): a deployed plugin. The store stays on the node's main thread; batches
 *   go to the plugin's worker, packed, and only the encoded accumulator comes back. Its `fold` may
 *   return before the worker has folded the batch, so the node reads the next batch meanwhile, and
 *   a failure shows at a later call.
 *
 * A `NodeModule` is what a node's module source hands out for a request: the module's description
 * and how to open a session on a query. A `ModuleSource` resolves a name and a version range to
 * one, held until released: a plugin reloaded while a fold runs keeps the old version serving that
 * fold until it releases it (src/plugin/host.ts); a registry of in-process modules releases nothing.
 */
import type { KeyClock, ModuleInfo } from '../node/index.js';
import type { IndexEntryRecord, StoredHead, StoredObject } from '../store/vnode.js';
import { plainCodec } from './acc-codecs.js';
import type { AnyFoldModule, FlushContext, FoldInput, FoldModule, HashSizeEntry, ModuleFilter, StateNeeds } from './contract.js';
import { checkBound, moduleFailure } from './failure.js';
import { parseFoldQuery } from './parse-query.js';

/** One batch read from a vnode, by what the module needs (one kind per fold). */
export type InputBatch =
  | { readonly kind: 'hash_size'; readonly items: readonly HashSizeEntry[] }
  | { readonly kind: 'head'; readonly items: readonly StoredHead[] }
  | { readonly kind: 'object'; readonly items: readonly StoredObject[] }
  | { readonly kind: 'index'; readonly items: readonly IndexEntryRecord[] }
  /** Cached-tree reads: a root, branches or words of one IndexN, or the clocks of some segments. */
  | { readonly kind: 'cache'; readonly items: readonly FoldInput[] };

/** One request's module code, on the node. Calls come in this order: fold/afterBatch per batch, then finish; close always. */
export interface FoldSession {
  readonly name: string;
  readonly needs: StateNeeds;
  readonly filter: ModuleFilter;
  /** Folds one batch; `where` names the node and vnode for errors. May return before the fold is done (a worker). */
  fold(batch: InputBatch, where: string): void | Promise<void>;
  /**
   * After each batch (and once with `final` after a vnode's last): the module's flush if it has one,
   * then the accumulator's bound. Returns the key batches the flush handed over.
   */
  afterBatch(ctx: FlushContext, where: string): Promise<ReadonlyArray<readonly KeyClock[]> | undefined>;
  /** The accumulator, encoded by the module's codec, once every batch is folded. */
  finish(where: string): Promise<Uint8Array>;
  /** Releases what the session holds (a worker's task); safe to call twice, and after a failure. */
  close(): void;
}

/** A module as a node runs it: its description and how to open a session for a query. */
export interface NodeModule {
  readonly info: ModuleInfo;
  /** Parses the query (FOLD_QUERY_INVALID) and prepares the fold. */
  open(query: unknown, options: { signal: AbortSignal; node: string }): Promise<FoldSession>;
}

/** A module held for one request (see the file comment). */
export interface ModuleLease {
  readonly module: NodeModule;
  release(): void;
}

/** The modules a node can run. */
export interface ModuleSource {
  /**
   * The highest version of `name` in `range` (any when absent); FOLD_MODULE_UNKNOWN,
   * FOLD_VERSION_UNSATISFIED or another coded refusal otherwise. `digest`, when given, must match
   * the module's (a plugin's files: the coordinator's copy and the node's must be the same).
   */
  acquire(name: string, range?: string, digest?: string): ModuleLease;
  list(): ModuleInfo[];
}

/** A session over a module's own functions, in this thread. */
export function inThreadSession<Query, Acc>(module: FoldModule<Query, Acc>, q: Query): FoldSession {
  const fold = module.generateObjectFoldFun(q);
  const flush = module.generateFlushFun?.(q);
  const bound = module.accBound(q);
  let acc = module.generateAcc(q);
  const name = module.name;
  return {
    name,
    needs: module.stateNeeds(q),
    filter: module.generateFilter(q),
    fold(batch, where) {
      try {
        switch (batch.kind) {
          case 'hash_size':
            for (const entry of batch.items) acc = fold(acc, { kind: 'hash_size', entry });
            break;
          case 'head':
            for (const head of batch.items) acc = fold(acc, { kind: 'head', head });
            break;
          case 'object':
            for (const object of batch.items) acc = fold(acc, { kind: 'object', object });
            break;
          case 'index':
            for (const entry of batch.items) acc = fold(acc, { kind: 'index', entry });
            break;
          case 'cache':
            for (const input of batch.items) acc = fold(acc, input);
            break;
        }
      } catch (e) {
        throw moduleFailure(name, where, e);
      }
    },
    async afterBatch(ctx, where) {
      let emit: ReadonlyArray<readonly KeyClock[]> | undefined;
      if (flush !== undefined) {
        try {
          const out = await flush(acc, ctx);
          acc = out.acc;
          emit = out.emit;
        } catch (e) {
          throw moduleFailure(name, where, e);
        }
      }
      checkBound(name, module.accSize(acc), bound);
      return emit;
    },
    async finish(where) {
      const codec = module.accCodec ?? plainCodec<Query, Acc>();
      try {
        return codec.encode(acc, q);
      } catch (e) {
        throw moduleFailure(name, `${where} (encoding its accumulator)`, e);
      }
    },
    close() {},
  };
}

/** The description a node gives of an in-process module. */
export function moduleInfoOf(m: AnyFoldModule, version: string): ModuleInfo {
  return { name: m.name, version, mutates: m.mutates === true };
}

/** An in-process module as a node runs it. */
export function inThreadModule(m: AnyFoldModule, version: string): NodeModule {
  return {
    info: moduleInfoOf(m, version),
    async open(query) {
      const q: unknown = parseFoldQuery(m, query);
      return inThreadSession(m, q);
    },
  };
}
