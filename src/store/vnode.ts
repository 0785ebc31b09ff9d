import type { AaeObject, Clock, IndexEntry, IndexN, ObjectHead } from '../cluster/index.js';
import type { Head, KeyClock, WriteOp } from '../node/index.js';
import type { TicTacTree, TreeSize } from '../tictac/index.js';

/**
 * What a node reads and writes of one of its own vnodes: the storage side of a node, never crossed
 * by a coordinator (the coordinator reaches data through the node contract, src/node). The node's
 * fold executor (src/fold/execute.ts) folds through it; LocalVnode implements it over a node's
 * LevelDB. Everything is asynchronous and answers in copies, never in views of the vnode's own state.
 */

/** A head as a fold yields it: the head plus where it lives (for trees built by folds). */
export interface StoredHead extends ObjectHead {
  keyspace: number;
  /** Low 32 bits of the key hash: the key's segment in a tree of any size is its low bits. */
  segment32: number;
  /** High 32 bits of the key hash: the key's contribution is `contribution(alt, hash)` (src/hash). */
  alt: number;
}

/**
 * A head as a hash-and-size fold yields it: where the key lives and what it contributes to a tree,
 * its size and tombstone flag; no clock, no index entries (the fold never decodes them).
 */
export interface StoredHashSize {
  bucket: string;
  key: Uint8Array;
  keyspace: number;
  /** As StoredHead's. */
  segment32: number;
  alt: number;
  hash: number;
  size: number;
  deleted: boolean;
}

export interface StoredObject extends StoredHead {
  value: Uint8Array;
}

export interface IndexEntryRecord {
  keyspace: number;
  bucket: string;
  key: Uint8Array;
  index: string;
  term: string;
}

/** Inclusive range. */
export interface Range<T> {
  start: T;
  end: T;
}

/** Segment ids of a tree of `treeSize` (ids below its segment count). */
export interface SegmentFilter {
  ids: readonly number[];
  treeSize: TreeSize;
}

/**
 * What a head or object fold visits. Every field narrows; absent fields do not. Key ranges compare
 * key bytes (within the listed buckets); times are lastModified in ms; keyspaces restrict a vnode to
 * some of the keyspaces it holds (a coverage plan's filter).
 */
export interface FoldFilter {
  buckets?: readonly string[];
  keyRange?: Range<Uint8Array>;
  segments?: SegmentFilter;
  modifiedRange?: Range<number>;
  keyspaces?: readonly number[];
}

/** What an index fold visits: one index of one bucket, optionally a term range (UTF-8 byte order). */
export interface IndexFoldFilter {
  bucket: string;
  index: string;
  termRange?: Range<string>;
  keyRange?: Range<Uint8Array>;
  keyspaces?: readonly number[];
}

export interface FoldOptions {
  signal?: AbortSignal;
  /** Entries read from LevelDB per nextv call (and per yielded batch at most). */
  batchSize?: number;
}

/** Where fetchClocks looks: one IndexN, or some keyspaces of the vnode. */
export type ClockScope = { indexN: IndexN } | { keyspaces: readonly number[] };

/** Declared, never probed: what a vnode can answer. */
export interface VnodeCapabilities {
  /** Cached trees, current after every write (fetchRoot/fetchBranches/fetchTree answer without scanning). */
  treeCache: boolean;
  /** foldHeads reads no values. */
  headFold: boolean;
  /** foldHashSizes: heads' hash, alt, size and tombstone flag without decoding clocks or index entries. */
  hashSizeFold: boolean;
  objectFold: boolean;
  indexFold: boolean;
  /** write() accepts local writes (false for a read-only replica). */
  writes: boolean;
}

/**
 * One write into one vnode: a write of the node contract (an object version — a tombstone is one —
 * or an erase, each optionally conditional, decided inside the vnode's write step: see WriteOp), or
 * a head without a value, which only a keystore writes into its own store.
 */
export type VnodeWrite = WriteOp | HeadWrite;

/**
 * A head without a value: for a keystore, whose objects live in an external database. The head
 * takes `hash` (an object hash the caller computed, e.g. of a row's canonical bytes) and `size` as
 * given instead of hashing a value; the key's value record and index entries, if any, go. Trees
 * change exactly as for a put of an object with that hash. Not part of the node contract: nothing
 * outside the node writes heads.
 */
export interface HeadWrite {
  kind: 'head';
  bucket: string;
  key: Uint8Array;
  clock: Clock;
  hash: number;
  size: number;
  deleted: boolean;
  /**
   * The key never has a value record here (every write of it is a head write: a keystore's), so
   * none needs deleting when its head is replaced. Without it, a head written over an object's
   * head also deletes the object's value record, which for a keystore is a tombstone written into
   * LevelDB on every update for nothing.
   */
  valueless?: boolean;
}

/** What a write replaced (or was decided against): the previous head, or null when the key was absent. */
export type WriteResult = Head | null;

export interface Vnode {
  readonly id: number;
  readonly node: string;
  readonly indexNs: readonly IndexN[];
  readonly treeSize: TreeSize;
  readonly capabilities: VnodeCapabilities;

  /** A copy of the IndexN's root (branchCount words). Rebuilds a missing tree first. */
  fetchRoot(indexN: IndexN): Promise<Uint32Array>;
  /** Copies of the IndexN's branches `ids` (256 leaves each). */
  fetchBranches(indexN: IndexN, ids: readonly number[]): Promise<Map<number, Uint32Array>>;
  /**
   * XORs into `out` the IndexN tree's words of `ids` at `width` (TicTacTree.xorWordsInto): the
   * exchange's fine walk reads words of any width without a branch copy per id.
   */
  xorWordsInto(indexN: IndexN, width: number, ids: readonly number[], out: Uint32Array): Promise<void>;
  /** A copy of the IndexN's whole tree (for merge_root_nval and friends, or to export). */
  fetchTree(indexN: IndexN): Promise<TicTacTree>;
  /** Keys and clocks of the given segments (of a tree of `treeSize`): one seek per segment and keyspace. */
  fetchClocks(scope: ClockScope, segments: readonly number[], treeSize: TreeSize, options?: FoldOptions): Promise<KeyClock[]>;

  foldHeads(filter: FoldFilter, options?: FoldOptions): AsyncIterable<readonly StoredHead[]>;
  /**
   * The heads foldHeads yields for the same filter, in the same order, as hash-and-size records
   * (what hash_size_only folds read). Only when `capabilities.hashSizeFold` is true.
   */
  foldHashSizes(filter: FoldFilter, options?: FoldOptions): AsyncIterable<readonly StoredHashSize[]>;
  foldObjects(filter: FoldFilter, options?: FoldOptions): AsyncIterable<readonly StoredObject[]>;
  foldIndex(filter: IndexFoldFilter, options?: FoldOptions): AsyncIterable<readonly IndexEntryRecord[]>;

  getHead(bucket: string, key: Uint8Array): Promise<ObjectHead | null>;
  get(bucket: string, key: Uint8Array): Promise<AaeObject | null>;
  /** Applies writes in order, keeping the cached trees current in the same step. */
  write(writes: readonly VnodeWrite[]): Promise<WriteResult[]>;
}

export type { IndexEntry, KeyClock };
