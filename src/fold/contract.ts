/**
 * The fold-module contract: what a fold module gives the runner, and what the runner gives back.
 *
 * A fold module is a named, versioned value. The framework validates the query (`parseQuery`),
 * plans coverage and reads the data; the module only computes. Its functions follow Riak's
 * riak_kv_clusteraae_fsm / aae_fold naming: the runner asks the module to *generate* a filter, an
 * empty accumulator, a merge function and a fold function for one parsed query, then folds every
 * planned vnode's slice of the data and merges the accumulators. (In this process the runner lets
 * the vnodes it folds one after another share one accumulator, as the split-and-merge law allows;
 * a module cannot tell the difference.)
 *
 * Laws every module keeps (test/fold/fold-module-suite.ts checks them for each built-in):
 * - `merge` is associative and commutative, and `generateAcc(q)` is its identity: the runner merges
 *   in whatever order vnodes finish, so the result must not depend on that order.
 * - folding a data set split in two and merging equals folding the whole.
 * - the accumulator is bounded: `accSize(acc) <= accBound(q)` always; a module whose accumulator
 *   would grow past its bound throws FOLD_ACC_OVERFLOW (the runner also checks after every batch),
 *   so no query can make a node hold unbounded memory.
 * - `stateNeeds(q)` names what the fold reads, and the runner reads no more than that: a module that
 *   needs sizes and hashes never sees clocks, a module that needs heads never sees values, a
 *   tree-cache module reads cached trees and never scans.
 *
 * The fold function may mutate the accumulator it is given and return it (it owns it); the merge
 * function must not mutate its arguments (the runner and the laws reuse them).
 */
import type { IndexN } from '../cluster/ring.js';
import type { Head, KeyClock, WriteOp } from '../node/index.js';
import type { FoldFilter, IndexEntryRecord, Range, SegmentFilter, StoredHead, StoredObject } from '../store/vnode.js';
import type { TreeSize } from '../tictac/index.js';

/** The contract version this runner speaks. A loaded module declaring another is refused (FOLD_API_MISMATCH). */
export const FOLD_API_VERSION = 1;

/**
 * Items per input batch the runner asks a vnode for, and so the most items one fold call sequence
 * sees between two flushes. 1000 amortises LevelDB's native nextv call (~1 µs) and keeps a batch a
 * few hundred KiB; modules that carry items over between flushes size their bound from it.
 */
export const MAX_INPUT_BATCH = 1000;

/**
 * What a fold reads.
 * - `heads`: object heads (key, clock, size, hash, tombstone flag, index entries), never values.
 * - `hash_size_only`: the key, its segment, `alt`, object hash, size and tombstone flag (no clock).
 * - `objects`: heads and values.
 * - `index`: secondary-index entries (bucket, index, term, key) of one index.
 * - `tree_cache`: the vnodes' cached TicTac trees (roots, branches, words at any width) or the clocks of a few segments.
 */
export type StateNeeds = 'heads' | 'objects' | 'hash_size_only' | 'index' | 'tree_cache';

export const STATE_NEEDS: readonly StateNeeds[] = ['heads', 'objects', 'hash_size_only', 'index', 'tree_cache'];

/** A head as `hash_size_only` shows it: no clock, no index entries. */
export interface HashSizeEntry {
  readonly bucket: string;
  readonly key: Uint8Array;
  readonly keyspace: number;
  readonly segment32: number;
  readonly alt: number;
  readonly hash: number;
  readonly size: number;
  readonly deleted: boolean;
}

/** What a `tree_cache` fold reads from each planned vnode, for each keyspace it answers for. */
export type CacheRead =
  | { read: 'root' }
  | { read: 'branches'; ids: readonly number[] }
  /** Tree words of `ids` at `width` (a power of two up to the segment count; ids ascending). */
  | { read: 'words'; width: number; ids: readonly number[] }
  /** Keys and clocks of some segments; treeSize defaults to the vnode's own cached tree size. */
  | { read: 'clocks'; segments: readonly number[]; treeSize?: TreeSize };

/** What an `index` fold reads: one index of one bucket, optionally a term range and key range. */
export interface IndexQuery {
  bucket: string;
  index: string;
  termRange?: Range<string>;
  keyRange?: Range<Uint8Array>;
}

/**
 * What a module asks the runner to read. The head filters apply to `heads`, `hash_size_only` and
 * `objects`; `index` is required for `index` folds and `cache` for `tree_cache` folds. The runner
 * adds the keyspaces of the coverage plan itself.
 */
export interface ModuleFilter extends Omit<FoldFilter, 'keyspaces'> {
  index?: IndexQuery;
  cache?: CacheRead;
}

/** One item of input, tagged by what was read. */
export type FoldInput =
  | { kind: 'head'; head: StoredHead }
  | { kind: 'hash_size'; entry: HashSizeEntry }
  | { kind: 'object'; object: StoredObject }
  | { kind: 'index'; entry: IndexEntryRecord }
  | { kind: 'root'; indexN: IndexN; root: Uint32Array }
  | { kind: 'branches'; indexN: IndexN; branches: ReadonlyMap<number, Uint32Array> }
  /** For a `words` read: one IndexN tree's words of the ids asked, in their order. */
  | { kind: 'words'; indexN: IndexN; words: Uint32Array }
  | { kind: 'clocks'; keyspaces: readonly number[]; clocks: readonly KeyClock[] };

/**
 * The one vnode a flush may act on: the vnode whose data was just folded, on the node running the
 * fold. A mutating module reads and writes through it (and only it): it never holds a handle on the
 * rest of the cluster.
 */
export interface VnodeHandle {
  readonly id: number;
  /** Writes into the vnode (conditional ops are decided in its write step); each op's previous head. */
  write(ops: readonly WriteOp[]): Promise<Array<Head | null>>;
}

/** What a flush function is given. */
export interface FlushContext {
  /** True after the vnode's last batch: everything pending must be handed over now. */
  final: boolean;
  vnode: VnodeHandle;
  signal: AbortSignal;
  /** The caller takes emitted keys; when false a module drops what it would emit (and says so in its counts). */
  emits: boolean;
}

/**
 * What a flush hands back: the accumulator, and batches of keys for the node to stream to the
 * caller (repl_keys_range). The node sends one batch at a time and folds on only once the caller
 * has taken it, so a slow caller slows the fold instead of filling memory.
 */
export interface FlushOutput<Acc> {
  acc: Acc;
  emit?: ReadonlyArray<readonly KeyClock[]>;
}

/** Receives keys and clocks in batches, on the coordinator (repl_keys_range). The fold waits for it. */
export type KeySink = (batch: readonly KeyClock[], options: { signal: AbortSignal }) => Promise<void>;

/**
 * How an accumulator crosses from the node that folded to the coordinator that merges. `decode`
 * validates what it reads (a corrupt or foreign payload is an error, never a half-typed value).
 * A module without a codec must keep plain-data accumulators (the default codec is msgpack with
 * typed arrays and Sets kept).
 */
export interface AccCodec<Query, Acc> {
  encode(acc: Acc, q: Query): Uint8Array;
  decode(bytes: Uint8Array, q: Query): Acc;
}

/**
 * Which vnodes a fold asks: `plan` — a coverage plan, one replica of each keyspace (the default);
 * `every_replica` — every vnode over every keyspace it holds, for a module that acts on each
 * replica's own data (reap_tombs and erase_keys when told to act).
 */
export type FoldCoverageKind = 'plan' | 'every_replica';

/** The part of a run's coverage a module's summary may use (to scale sampled estimates). */
export interface CoverageSummary {
  /** Share of the ring's keyspaces covered, in (0, 1]. */
  fraction: number;
  keyspaces: readonly number[];
  ringSize: number;
}

/** A module's result for people and scripts: JSON-safe data and a table for the CLI. */
export interface FoldSummary {
  json: unknown;
  table: { head: string[]; rows: Array<Array<string | number>> };
}

export interface FoldModule<Query, Acc> {
  readonly name: string;
  readonly apiVersion: number;
  /** The module's own version (semver): a fold request may ask for a range of it. Default "0.0.0". */
  readonly version?: string;
  /** The module writes (through FlushContext.vnode): a node runs it only where mutations are allowed. */
  readonly mutates?: boolean;
  /** One line for `aae fold --help`. */
  readonly description?: string;
  /** Validates and normalises; bad input throws AaeError FOLD_QUERY_INVALID naming the field. */
  parseQuery(input: unknown): Query;
  stateNeeds(q: Query): StateNeeds;
  generateFilter(q: Query): ModuleFilter;
  /** The empty accumulator: the identity of merge. */
  generateAcc(q: Query): Acc;
  /** Associative, commutative, does not mutate its arguments. */
  generateMergeFun(q: Query): (a: Acc, b: Acc) => Acc;
  /** Folds one item in; may mutate and return the accumulator. */
  generateObjectFoldFun(q: Query): (acc: Acc, input: FoldInput) => Acc;
  /** The declared bound on accSize, in the module's own unit (items, words, bytes). */
  accBound(q: Query): number;
  accSize(acc: Acc): number;
  /**
   * Optional: called after every input batch and once more (final) after a vnode's last batch, to
   * act on what the accumulator collected (hand keys over, erase tombstones) and drop it.
   */
  generateFlushFun?(q: Query): (acc: Acc, ctx: FlushContext) => Promise<FlushOutput<Acc>>;
  /** Optional: the accumulator's codec (default: msgpack, for plain-data accumulators). */
  readonly accCodec?: AccCodec<Query, Acc>;
  /** Optional: which vnodes a run asks (default 'plan'). */
  coverage?(q: Query): FoldCoverageKind;
  /** Optional: the result as JSON and a table (default: the accumulator as JSON). */
  summarize?(acc: Acc, q: Query, coverage: CoverageSummary): FoldSummary;
}

/**
 * A module whose Query and Acc are opaque to its holder (the registry, a loaded file). `runFold`
 * re-binds them; nothing typed by these `any`s is read by the framework except through the module's
 * own functions.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFoldModule = FoldModule<any, any>;

export type { FoldFilter, KeyClock, Range, SegmentFilter };

/** The version of the built-in modules: they change with the package and the API version. */
export const BUILTIN_MODULE_VERSION = '1.0.0';
