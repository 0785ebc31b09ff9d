/**
 * What the exchange engine needs from the things it compares: the source contract.
 *
 * A source answers for a *scope* — the whole of an nVal's data (`full`: cached trees, cost
 * independent of data size) or a slice of it (`range`: trees built by a fold such as
 * merge_tree_range over a bucket, key range or modified range). One side of an exchange (blue or
 * pink) is a LIST of sources, e.g. the partitions of a cluster or one vnode's IndexN trees; the
 * side's tree words are the XOR of its sources' answers and its key clocks their union. Sources of
 * one side must therefore answer for disjoint key sets (XOR of overlapping sets cancels keys out).
 *
 * Every method may be remote: it takes an AbortSignal and may reject; the engine turns a rejection
 * into an exchange that ended in state 'error' with the cause.
 *
 * Word semantics. A tree of `segmentCount` segments is seen as words over aligned segment ranges:
 * the word of id `i` at width `w` is the XOR of the leaves of segments `[i·w, (i+1)·w)`. The root is
 * width 256 (one word per branch), a branch's leaves are width 1. A source that declares the
 * `hashes` capability answers `fetchHashes` for any power-of-two width, which lets the engine walk
 * the tree with fan-out 16 instead of 256 and move far fewer bytes (see engine.ts).
 * `hashesOfTree` (hashes-of-tree.ts) implements it for a TicTacTree.
 */
import type { Clock } from '../cluster/clock.js';
import type { HashMethod } from '../hash/index.js';
import type { TreeSize } from '../tictac/index.js';

/** The cached trees of an nVal (all nVals the source holds when omitted). */
export interface FullScope {
  readonly kind: 'full';
  readonly nVal?: number;
}

/** Inclusive byte range of keys. */
export interface KeyRange {
  readonly start: Uint8Array;
  readonly end: Uint8Array;
}

/** Inclusive range of lastModified times, ms. */
export interface ModifiedRange {
  readonly from: number;
  readonly to: number;
}

/**
 * Trees built on demand by a fold over the keys that match every filter given. `treeSize` is the
 * size of the trees built (a small size suits a small range); `segments` narrows the fold to some
 * segments of a tree of `segments.treeSize`.
 */
export interface RangeScope {
  readonly kind: 'range';
  readonly treeSize: TreeSize;
  readonly bucket?: string;
  readonly keyRange?: KeyRange;
  readonly modifiedRange?: ModifiedRange;
  readonly segments?: { readonly ids: readonly number[]; readonly treeSize: TreeSize };
}

export type ExchangeScope = FullScope | RangeScope;

/** Checked for every source before any exchange: sides that differ here are never compared. */
export interface SourceDescription {
  /** The size of the source's cached trees (a range scope names its own size). */
  readonly treeSize: TreeSize;
  readonly hashMethod: HashMethod;
  readonly seed: number;
  /** Declared capabilities; the engine never probes for methods. */
  readonly capabilities?: { readonly hashes?: boolean; readonly sketch?: boolean; readonly syndromes?: boolean };
}

export interface FetchOptions {
  readonly signal?: AbortSignal;
}

/** A request for tree words: one word per id, each the XOR of `width` consecutive leaves. */
export interface HashesRequest {
  /** A power of two, 1 ≤ width ≤ segmentCount. */
  readonly width: number;
  /** Ascending, distinct, each below segmentCount / width. */
  readonly ids: readonly number[];
}

/**
 * One key's version as a side holds it. A tombstone keeps its clock and sets `deleted`. `hash` is
 * the object hash the side's trees were built from (of the clock, or of the value under hash method
 * `value`): the clock stage compares it, so it and the trees agree on what a difference is.
 */
export interface KeyClock {
  readonly bucket: string;
  readonly key: Uint8Array;
  readonly clock: Clock;
  readonly deleted: boolean;
  readonly hash: number;
}

export interface ExchangeSource {
  describe(): SourceDescription | Promise<SourceDescription>;
  /** The root: one word per branch (branchCount words: 16 KiB for a large tree). */
  fetchRoot(scope: ExchangeScope, options: FetchOptions): Promise<Uint32Array>;
  /** Exactly the branches asked for: branch id → its 256 leaves (1 KiB each). */
  fetchBranches(scope: ExchangeScope, ids: readonly number[], options: FetchOptions): Promise<Map<number, Uint32Array>>;
  /** Every key (live or tombstone) of the scope whose segment is in `segments`. */
  fetchClocks(scope: ExchangeScope, segments: readonly number[], options: FetchOptions): Promise<KeyClock[]>;
  /**
   * Only when `describe().capabilities.hashes` is true: words at any width (see the file comment),
   * `request.ids.length` words in the order of `request.ids`.
   */
  fetchHashes?(scope: ExchangeScope, request: HashesRequest, options: FetchOptions): Promise<Uint32Array>;
  /**
   * Only when `describe().capabilities.sketch` is true (and `hashes`): the 64-bit linear sketch
   * (src/tictac/sketch.ts) of the words fetchHashes would answer for `request`, under `seed` — two
   * words. Linear over XOR, so a side's sketch is the XOR of its sources'.
   */
  fetchSketch?(scope: ExchangeScope, request: HashesRequest, seed: number, options: FetchOptions): Promise<Uint32Array>;
  /**
   * Only when `describe().capabilities.syndromes` is true (and `hashes`): for each group id (a word
   * at width·fanout), the syndrome (src/tictac/syndrome.ts) of its `fanout` children at `width`,
   * syndromeWords(fanout) words a group, in the order of `ids`.
   */
  fetchSyndromes?(scope: ExchangeScope, request: SyndromeRequest, seed: number, options: FetchOptions): Promise<Uint32Array>;
}

export interface SyndromeRequest {
  readonly width: number;
  readonly fanout: number;
  /** Ascending group ids at width·fanout. */
  readonly ids: readonly number[];
}
