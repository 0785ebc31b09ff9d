/**
 * The TicTac tree: a two-level XOR Merkle tree over a fixed number of hash segments.
 *
 * What. Every key maps to one segment (the low bits of its 32-bit segment hash). A segment's leaf
 * is the XOR of the contributions of the keys in it, a contribution being `fmix32(alt XOR objectHash)`
 * (see src/hash). Segments are grouped 256 to a branch, and the root holds one word per branch: the
 * XOR of that branch's 256 leaves. Two replicas that hold the same keys at the same versions have
 * equal trees, whatever order the keys arrived in, however the trees were split and merged.
 *
 * Why XOR and not a cryptographic hash. XOR makes every operation O(1) and order-free: adding a
 * key, replacing its version (`alter`: XOR out the old contribution, XOR in the new) and deleting
 * it touch one leaf and one root word. Trees of disjoint key sets merge by XOR, so a tree of a
 * whole cluster is the XOR of per-vnode trees built where the data lives. The price is that the
 * tree is no defence against an adversary; it is for replicas that trust each other.
 *
 * The exchange. Two sides compare roots first (a large root is 16 KiB), then fetch only the
 * branches whose root words differ (1 KiB each), then the keys of only the leaves that differ.
 * A branch whose leaf differences cancel in its root word is missed by that first step; with
 * 32-bit hashes that happens to a differing branch with probability about 2^-32.
 *
 * The sizes (sizes.ts): 16 to 16384 branches of 256 leaves. The default, large, has 4096 branches:
 * 1,048,576 segments, a 16 KiB root and 4 MiB of leaves when full. A branch is kept small until it
 * needs its leaves: up to SMALL_LEAVES (8) written leaves live as (leaf, value) pairs in 68 bytes;
 * the ninth makes it dense, 256 words from a pool that doubles as it fills (up to a sixteenth of
 * the branches, then all of them: see allocate). So an empty large tree costs its root and a
 * 16 KiB offset table, and a tree of a few thousand keys (a vnode's share of a small cluster:
 * about one key a branch) costs a few hundred KiB, not 4 MiB. A cluster of 192 such trees
 * (ring 64, nVal 3) held 667 MiB resident at 200k objects when every branch was dense.
 *
 * The add path allocates nothing but a branch's first leaves and validates nothing: its two
 * numbers are taken as uint32 (as keyHash and contribution() produce them). It runs at tens of
 * millions of adds a second; hashing the key costs far more.
 */
import { AaeError } from '../errors.js';
import { countNonZero, decodeTree, encodeTree } from './export.js';
import {
  DEFAULT_TREE_SIZE,
  LEAF_BITS,
  LEAF_MASK,
  LEAVES_PER_BRANCH,
  branchCountOf,
  isTreeSize,
  segmentCountOf,
  type TreeSize,
} from './sizes.js';

export interface TreeStats {
  size: TreeSize;
  branchCount: number;
  segmentCount: number;
  /** Adds minus removes (negative in a tree of deltas); null once unknown (after alterSegment). */
  keys: number | null;
  /** Branches with at least one non-zero leaf. */
  nonEmptyBranches: number;
  /** Leaves that are not zero. */
  nonEmptySegments: number;
}

export class TicTacTree {
  readonly size: TreeSize;
  readonly branchCount: number;
  readonly segmentCount: number;
  /** segmentCount − 1: `segment32 & mask` is the segment. */
  private readonly mask: number;
  /** One word per branch: the XOR of its leaves. */
  private readonly rootWords: Uint32Array;
  /**
   * Where each branch lives: ≥ 0, the offset of its 256 leaves in `pool` (dense); −1, never written
   * (all zeros); ≤ −2, small: its pairs start at offset −(slot + 2) of `small`. One pool of leaves
   * and an offset table, rather than an array of per-branch Uint32Arrays: the add path then does
   * two typed-array loads and no object dereference, which measured 2.5× faster (≈60M vs ≈22M
   * adds/s into a large tree on the 2-core bench box).
   */
  private readonly slot: Int32Array;
  /**
   * Small branches, SMALL_STRIDE words each: [count, leaf₀, value₀, leaf₁, value₁, …]. A pair whose
   * value has XORed back to zero stays (it is rare, and the branch still reads right).
   */
  private small: Uint32Array;
  /** Words of `small` in use, and small slots freed when their branch became dense. */
  private smallUsed: number;
  private smallFree: number[];
  /** The leaves of the written branches, 256 words each, in order of first write. */
  private pool: Uint32Array;
  /** Words of `pool` in use (256 × written branches). */
  private used: number;
  /** Adds minus removes while known; NaN once unknown. */
  private keyCount: number;

  private constructor(size: TreeSize) {
    this.size = size;
    this.branchCount = branchCountOf(size);
    this.segmentCount = segmentCountOf(size);
    this.mask = this.segmentCount - 1;
    this.rootWords = new Uint32Array(this.branchCount);
    this.slot = new Int32Array(this.branchCount).fill(-1);
    this.pool = EMPTY_POOL;
    this.used = 0;
    this.small = EMPTY_POOL;
    this.smallUsed = 0;
    this.smallFree = [];
    this.keyCount = 0;
  }

  static create(size: TreeSize = DEFAULT_TREE_SIZE): TicTacTree {
    if (!isTreeSize(size)) {
      throw new AaeError('TREE_SIZE_UNKNOWN', `unknown tree size '${String(size)}'`);
    }
    return new TicTacTree(size);
  }

  /** Decodes an export (docs/FORMAT.md); a corrupt or truncated one throws TREE_EXPORT_CORRUPT. */
  static import(bytes: Uint8Array): TicTacTree {
    const content = decodeTree(bytes);
    const tree = new TicTacTree(content.size);
    let dense = 0;
    for (const leaves of content.branches) if (leaves !== undefined && countNonZero(leaves) > SMALL_LEAVES) dense++;
    tree.pool = new Uint32Array(dense * LEAVES_PER_BRANCH);
    for (let b = 0; b < tree.branchCount; b++) {
      const leaves = content.branches[b];
      if (leaves === undefined) continue;
      // A branch of few leaves comes back small, as it was before it was saved.
      if (countNonZero(leaves) > SMALL_LEAVES) tree.pool.set(leaves, tree.allocate(b));
      else for (let leaf = 0; leaf < LEAVES_PER_BRANCH; leaf++) if (leaves[leaf] !== 0) tree.xorLeaf(b, leaf, leaves[leaf]!);
      tree.rootWords[b] = xorOf(leaves);
    }
    tree.keyCount = content.keys ?? NaN;
    return tree;
  }

  /** XORs a key's contribution into its segment: adds the key (or, done twice, removes it again). */
  add(segment32: number, contribution: number): void {
    this.xorIn(segment32, contribution);
    this.keyCount++;
  }

  /** Removes a key: the same XOR as add, counted as one key fewer. */
  remove(segment32: number, contribution: number): void {
    this.xorIn(segment32, contribution);
    this.keyCount--;
  }

  /** The one write every update makes: a leaf and its branch's root word (small enough for V8 to inline). */
  private xorIn(segment32: number, contribution: number): void {
    const segment = segment32 & this.mask;
    const b = segment >>> LEAF_BITS;
    const at = this.slot[b]!;
    if (at >= 0) this.pool[at + (segment & LEAF_MASK)]! ^= contribution;
    else this.xorLeaf(b, segment & LEAF_MASK, contribution);
    this.rootWords[b]! ^= contribution;
  }

  /** XORs into one leaf of a branch of any form (not its root word): the slow path of xorIn. */
  private xorLeaf(b: number, leaf: number, value: number): void {
    let at = this.slot[b]!;
    if (at >= 0) {
      this.pool[at + leaf]! ^= value;
      return;
    }
    if (at === -1) at = this.allocateSmall(b);
    const small = this.small;
    const s = -(at + 2);
    const n = small[s]!;
    for (let i = 0, p = s + 1; i < n; i++, p += 2) {
      if (small[p] === leaf) {
        small[p + 1]! ^= value;
        return;
      }
    }
    if (n < SMALL_LEAVES) {
      small[s + 1 + 2 * n] = leaf;
      small[s + 2 + 2 * n] = value;
      small[s] = n + 1;
      return;
    }
    // The ninth leaf: the branch becomes dense (denseOffset may grow the pool, so it goes first).
    const d = this.denseOffset(b);
    this.pool[d + leaf]! ^= value;
  }

  /** Branch b's dense offset: a small branch is spread into 256 leaves, an unwritten one allocated. */
  private denseOffset(b: number): number {
    const at = this.slot[b]!;
    if (at >= 0) return at;
    const d = this.allocate(b);
    if (at <= -2) {
      const s = -(at + 2);
      const n = this.small[s]!;
      for (let i = 0, p = s + 1; i < n; i++, p += 2) this.pool[d + this.small[p]!] = this.small[p + 1]!;
      this.smallFree.push(s);
    }
    return d;
  }

  /** Gives branch `b` an empty small slot; returns its slot code (≤ −2). */
  private allocateSmall(b: number): number {
    let s = this.smallFree.pop();
    if (s === undefined) {
      if (this.smallUsed + SMALL_STRIDE > this.small.length) {
        const grown = new Uint32Array(Math.max(this.small.length * 2, FIRST_POOL_BRANCHES * SMALL_STRIDE));
        grown.set(this.small.subarray(0, this.smallUsed));
        this.small = grown;
      }
      s = this.smallUsed;
      this.smallUsed += SMALL_STRIDE;
    }
    this.small[s] = 0;
    const code = -(s + 2);
    this.slot[b] = code;
    return code;
  }

  /** Replaces a key's contribution (a new version of it) in O(1): XOR out the old, XOR in the new. */
  alter(segment32: number, oldContribution: number, newContribution: number): void {
    const delta = (oldContribution ^ newContribution) >>> 0;
    if (delta !== 0) this.xorIn(segment32, delta);
  }

  /**
   * Overwrites one leaf (a segment id, 0 ≤ segment < segmentCount) and fixes its branch's root word:
   * for a leaf rebuilt from the keys it holds. The key count becomes unknown.
   */
  alterSegment(segment: number, leafValue: number): void {
    this.checkSegment(segment);
    if (!Number.isInteger(leafValue) || leafValue < 0 || leafValue > 0xffff_ffff) {
      throw new AaeError('INVALID_ARGUMENT', `a leaf value is a uint32, got ${leafValue}`);
    }
    const b = segment >>> LEAF_BITS;
    const leaf = segment & LEAF_MASK;
    const old = this.leafAt(b, leaf);
    if (old !== leafValue) {
      this.xorLeaf(b, leaf, (old ^ leafValue) >>> 0);
      this.rootWords[b]! ^= old ^ leafValue;
    }
    this.keyCount = NaN;
  }

  /** The leaf of a segment id (0 ≤ segment < segmentCount). */
  getSegment(segment: number): number {
    this.checkSegment(segment);
    return this.leafAt(segment >>> LEAF_BITS, segment & LEAF_MASK);
  }

  /** A copy of the root: branchCount words, each the XOR of its branch's 256 leaves. */
  root(): Uint32Array {
    return this.rootWords.slice();
  }

  /** A copy of one branch's 256 leaves (zeros for a branch never written). */
  branch(id: number): Uint32Array {
    this.checkBranch(id);
    return this.peekBranch(id)?.slice() ?? new Uint32Array(LEAVES_PER_BRANCH);
  }

  /** The branches an exchange sends for `ids`: branch id → a copy of its 256 leaves. */
  branches(ids: Iterable<number>): Map<number, Uint32Array> {
    const out = new Map<number, Uint32Array>();
    for (const id of ids) out.set(id, this.branch(id));
    return out;
  }

  /**
   * XORs into `out[i]` the word of `ids[i]` at `width`: the XOR of the leaves of segments
   * [id·width, (id+1)·width). Widths of a branch or more read root words, smaller ones leaves, and
   * nothing is copied: merging the words of many trees (the IndexN trees a coverage fold visits)
   * costs ids × min(width, 256) reads per tree, not a 1 KiB branch copy per id.
   * `width` is a power of two up to segmentCount; `ids` lie below segmentCount / width.
   */
  xorWordsInto(width: number, ids: ArrayLike<number>, out: Uint32Array): void {
    if (!Number.isInteger(width) || width < 1 || (width & (width - 1)) !== 0 || width > this.segmentCount) {
      throw new AaeError('TREE_SEGMENT_INVALID', `width ${width} is not a power of two in 1..${this.segmentCount}`);
    }
    if (out.length < ids.length) throw new AaeError('INVALID_ARGUMENT', `out holds ${out.length} words, ${ids.length} asked`);
    const limit = this.segmentCount / width;
    // Each id is checked where it is read: out of range, it would read nothing and give 0.
    const check = (id: number): number => {
      if (!Number.isInteger(id) || id < 0 || id >= limit) throw new AaeError('TREE_SEGMENT_INVALID', `id ${id} is outside 0..${limit - 1} at width ${width}`);
      return id;
    };
    if (width >= LEAVES_PER_BRANCH) {
      const perWord = width / LEAVES_PER_BRANCH;
      for (let i = 0; i < ids.length; i++) {
        let x = 0;
        for (let b = check(ids[i]!) * perWord, end = b + perWord; b < end; b++) x ^= this.rootWords[b]!;
        out[i] = (out[i]! ^ x) >>> 0;
      }
      return;
    }
    const pool = this.pool;
    const small = this.small;
    for (let i = 0; i < ids.length; i++) {
      const first = check(ids[i]!) * width;
      const at = this.slot[first >>> LEAF_BITS]!;
      if (at === -1) continue;
      let x = 0;
      if (at >= 0) {
        for (let s = at + (first & LEAF_MASK), end = s + width; s < end; s++) x ^= pool[s]!;
      } else {
        const lo = first & LEAF_MASK;
        const s = -(at + 2);
        for (let k = 0, p = s + 1, n = small[s]!; k < n; k++, p += 2) if (small[p]! >= lo && small[p]! < lo + width) x ^= small[p + 1]!;
      }
      out[i] = (out[i]! ^ x) >>> 0;
    }
  }

  /**
   * The leaves of one branch without copying, or undefined if never written. For this module's
   * pure functions (dirty.ts), which only read.
   * @internal
   */
  peekBranch(id: number): Uint32Array | undefined {
    const at = this.slot[id]!;
    if (at === -1) return undefined;
    if (at >= 0) return this.pool.subarray(at, at + LEAVES_PER_BRANCH);
    // A small branch is spread into a fresh array: a read, not the hot path.
    const leaves = new Uint32Array(LEAVES_PER_BRANCH);
    const s = -(at + 2);
    for (let k = 0, p = s + 1, n = this.small[s]!; k < n; k++, p += 2) leaves[this.small[p]!] = this.small[p + 1]!;
    return leaves;
  }

  /** A new tree holding both: the XOR of the two. Meant for trees of disjoint key sets. */
  merge(other: TicTacTree): TicTacTree {
    return this.clone().mergeInPlace(other);
  }

  /** XORs `other` into this tree; returns this. */
  mergeInPlace(other: TicTacTree): this {
    this.checkSameSize(other);
    for (let b = 0; b < this.branchCount; b++) {
      const from = other.slot[b]!;
      if (from === -1) continue;
      if (from <= -2) {
        // Their small branch: XOR its pairs in, leaving ours small if it stays small.
        const s = -(from + 2);
        for (let k = 0, p = s + 1, n = other.small[s]!; k < n; k++, p += 2) this.xorLeaf(b, other.small[p]!, other.small[p + 1]!);
      } else {
        const at = this.denseOffset(b);
        const ours = this.pool;
        const theirs = other.pool;
        for (let i = 0; i < LEAVES_PER_BRANCH; i++) ours[at + i]! ^= theirs[from + i]!;
      }
      this.rootWords[b]! ^= other.rootWords[b]!;
    }
    this.keyCount += other.keyCount;
    return this;
  }

  clone(): TicTacTree {
    const copy = new TicTacTree(this.size);
    copy.rootWords.set(this.rootWords);
    copy.slot.set(this.slot);
    copy.pool = this.pool.slice(0, this.used);
    copy.used = this.used;
    copy.small = this.small.slice(0, this.smallUsed);
    copy.smallUsed = this.smallUsed;
    copy.smallFree = [...this.smallFree];
    copy.keyCount = this.keyCount;
    return copy;
  }

  /** Same size and the same leaves (so the same root). The key count is bookkeeping, not content. */
  equals(other: TicTacTree): boolean {
    if (other.size !== this.size) return false;
    for (let b = 0; b < this.branchCount; b++) {
      if (this.rootWords[b] !== other.rootWords[b]) return false;
      if (!sameLeaves(this.peekBranch(b), other.peekBranch(b))) return false;
    }
    return true;
  }

  /** The compact, versioned, checksummed bytes of docs/FORMAT.md; `TicTacTree.import` reverses it. */
  export(): Uint8Array {
    return encodeTree({
      size: this.size,
      keys: Number.isNaN(this.keyCount) ? null : this.keyCount,
      branches: Array.from({ length: this.branchCount }, (_, b) => this.peekBranch(b)),
    });
  }

  stats(): TreeStats {
    let nonEmptyBranches = 0;
    let nonEmptySegments = 0;
    for (let b = 0; b < this.branchCount; b++) {
      const leaves = this.peekBranch(b);
      if (leaves === undefined) continue;
      const n = countNonZero(leaves);
      if (n > 0) nonEmptyBranches++;
      nonEmptySegments += n;
    }
    return {
      size: this.size,
      branchCount: this.branchCount,
      segmentCount: this.segmentCount,
      keys: Number.isNaN(this.keyCount) ? null : this.keyCount,
      nonEmptyBranches,
      nonEmptySegments,
    };
  }

  /** Gives branch `b` its 256 zero leaves in the pool; returns their offset. */
  private allocate(b: number): number {
    if (this.used + LEAVES_PER_BRANCH > this.pool.length) {
      // Double while small, so a tree of a few hundred keys stays a few hundred KiB. Past a
      // sixteenth of every branch, take them all at once: keys are hashed, so a tree that big goes
      // on to touch nearly every branch, and copying it at each doubling cost more than the adds
      // themselves (24 fresh large trees given 300k adds: 205 ms doubling all the way, 132 ms
      // taking all at once). A large zeroed allocation gets its pages only as they are written.
      const all = this.branchCount * LEAVES_PER_BRANCH;
      const doubled = Math.max(this.pool.length * 2, FIRST_POOL_BRANCHES * LEAVES_PER_BRANCH);
      const words = doubled * 16 > all ? all : doubled;
      const grown = new Uint32Array(words);
      grown.set(this.pool.subarray(0, this.used));
      this.pool = grown;
    }
    const at = this.used;
    this.used += LEAVES_PER_BRANCH;
    this.slot[b] = at;
    return at;
  }

  private leafAt(b: number, leaf: number): number {
    const at = this.slot[b]!;
    if (at >= 0) return this.pool[at + leaf]!;
    if (at === -1) return 0;
    const s = -(at + 2);
    for (let k = 0, p = s + 1, n = this.small[s]!; k < n; k++, p += 2) if (this.small[p] === leaf) return this.small[p + 1]!;
    return 0;
  }

  private checkSegment(segment: number): void {
    if (!Number.isInteger(segment) || segment < 0 || segment >= this.segmentCount) {
      throw new AaeError(
        'TREE_SEGMENT_INVALID',
        `segment ${segment} is outside 0..${this.segmentCount - 1} of a ${this.size} tree`,
      );
    }
  }

  private checkBranch(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.branchCount) {
      throw new AaeError('TREE_SEGMENT_INVALID', `branch ${id} is outside 0..${this.branchCount - 1} of a ${this.size} tree`);
    }
  }

  private checkSameSize(other: TicTacTree): void {
    if (other.size !== this.size) {
      throw new AaeError('TREE_SIZE_MISMATCH', `cannot combine a ${this.size} tree with a ${other.size} tree`);
    }
  }
}

const EMPTY_POOL = new Uint32Array(0);
/** Leaves a branch holds as (leaf, value) pairs before it becomes 256 dense words. */
const SMALL_LEAVES = 8;
/** A small branch's words: its count, then a leaf and a value per pair (68 bytes, against 1 KiB). */
const SMALL_STRIDE = 1 + 2 * SMALL_LEAVES;
/** The pool's first allocation, in branches: 16 KiB, a whole xxsmall tree; doubling from there (see allocate). */
const FIRST_POOL_BRANCHES = 16;

function xorOf(words: Uint32Array): number {
  let x = 0;
  for (let i = 0; i < words.length; i++) x ^= words[i]!;
  return x >>> 0;
}

function sameLeaves(a: Uint32Array | undefined, b: Uint32Array | undefined): boolean {
  if (a === undefined && b === undefined) return true;
  for (let i = 0; i < LEAVES_PER_BRANCH; i++) {
    if ((a?.[i] ?? 0) !== (b?.[i] ?? 0)) return false;
  }
  return true;
}
