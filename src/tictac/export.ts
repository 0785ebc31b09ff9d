/**
 * The export codec: a tree as compact, versioned, checksummed bytes (grammar in docs/FORMAT.md,
 * "TicTac tree export"; version 1 is frozen by fixtures/tree-export-v1.bin).
 *
 * Compact at both ends of the fill range: a branch whose leaves are all zero is not written at
 * all, and a written branch carries a 256-bit map of its non-zero leaves followed by those leaves
 * only. An empty tree is 24 bytes; a large tree of 1M keys (about 63% of its leaves non-zero) is
 * about 2.7 MB rather than 4 MiB. The root is not stored: every root word is the XOR of its leaves,
 * so import recomputes it and a root can never disagree with its leaves.
 *
 * Everything after the 8-byte magic/version/size/flags block is little-endian u32 words, and the
 * 20-byte header keeps them 4-byte aligned, so on a little-endian host (nearly every host Node runs
 * on) encode and decode read and write the words through one Uint32Array view; a
 * big-endian host swaps the body once. That keeps a large export at a few milliseconds.
 *
 * The encoding is canonical (one tree, one byte string): decode rejects anything encode would not
 * write (a zero leaf under a set bit, an empty branch record, ids out of order, stray flag bits,
 * trailing bytes), so encode(decode(b)) = b for every b that decodes.
 */
import { AaeError } from '../errors.js';
import { crc32 } from './crc32.js';
import { LEAVES_PER_BRANCH, TREE_SIZES, branchCountOf, type TreeSize } from './sizes.js';

/** What an export holds; tree.ts turns it into a TicTacTree and back. */
export interface TreeContent {
  size: TreeSize;
  /** Adds minus removes, or null when unknown. A safe integer. */
  keys: number | null;
  /** branchCount entries: a branch's 256 leaves, or undefined for an all-zero branch. */
  branches: ReadonlyArray<Uint32Array | undefined>;
}

/** ASCII "TTEX" (TicTac EXport), read as a little-endian u32. */
export const EXPORT_MAGIC = 0x5845_5454;
export const EXPORT_VERSION = 1;
export const EXPORT_HEADER_BYTES = 20;
export const EXPORT_TRAILER_BYTES = 4;
/** Flags bit 0: the key count field holds a count. */
const FLAG_KEYS_KNOWN = 1;
/** 256 leaves, one bit each: 8 words. */
const BITMAP_WORDS = LEAVES_PER_BRANCH / 32;
/** A record's head: its branch id and its bitmap. */
const RECORD_HEAD_WORDS = 1 + BITMAP_WORDS;
const HEADER_WORDS = EXPORT_HEADER_BYTES / 4;
const TWO_32 = 0x1_0000_0000;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function encodeTree(content: TreeContent): Uint8Array {
  const { size, keys, branches } = content;
  const branchCount = branchCountOf(size);
  if (branches.length !== branchCount) {
    throw new AaeError('INTERNAL', `a ${size} tree has ${branchCount} branches, got ${branches.length}`);
  }
  if (keys !== null && !Number.isSafeInteger(keys)) {
    throw new AaeError('INTERNAL', `key count ${keys} is not a safe integer`);
  }
  // First pass: each branch's non-zero leaves, so the output is allocated once, exactly.
  const counts = new Int32Array(branchCount);
  let records = 0;
  let leaves = 0;
  for (let b = 0; b < branchCount; b++) {
    const branch = branches[b];
    if (branch === undefined) continue;
    const n = countNonZero(branch);
    counts[b] = n;
    if (n > 0) records++;
    leaves += n;
  }
  const totalWords = HEADER_WORDS + records * RECORD_HEAD_WORDS + leaves + 1;
  const out = new Uint8Array(totalWords * 4);
  // Int32 views: values above 2^31 then stay small integers in optimised code, never doubles.
  const words = new Int32Array(out.buffer);
  let p = HEADER_WORDS;
  for (let b = 0; b < branchCount; b++) {
    const branch = branches[b];
    if (branch === undefined || counts[b] === 0) continue;
    words[p] = b;
    p = writeLeaves(new Int32Array(branch.buffer, branch.byteOffset, LEAVES_PER_BRANCH), words, p + 1);
  }
  if (!LITTLE_ENDIAN_HOST) swapWords(new Uint32Array(out.buffer), HEADER_WORDS, p);

  const view = new DataView(out.buffer);
  view.setUint32(0, EXPORT_MAGIC, true);
  out[4] = EXPORT_VERSION;
  out[5] = TREE_SIZES.indexOf(size);
  out[6] = keys === null ? 0 : FLAG_KEYS_KNOWN;
  out[7] = 0;
  const k = keys ?? 0;
  const hi = Math.floor(k / TWO_32);
  view.setUint32(8, k - hi * TWO_32, true);
  view.setInt32(12, hi, true);
  view.setUint32(16, records, true);
  view.setUint32(p * 4, crc32(out, 0, p * 4), true);
  return out;
}

export function decodeTree(bytes: Uint8Array): TreeContent {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('an exported tree is a Uint8Array');
  if (bytes.length < EXPORT_HEADER_BYTES + EXPORT_TRAILER_BYTES) {
    corrupt(`${bytes.length} bytes is shorter than the smallest export (24 bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== EXPORT_MAGIC) corrupt('not a TicTac tree export (bad magic)');
  if (bytes[4] !== EXPORT_VERSION) corrupt(`unsupported export version ${bytes[4]} (this build reads 1)`);
  const end = bytes.length - EXPORT_TRAILER_BYTES;
  const stored = view.getUint32(end, true);
  const actual = crc32(bytes, 0, end);
  if (stored !== actual) {
    corrupt(`checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}): corrupt or truncated`);
  }
  if (bytes.length % 4 !== 0) corrupt(`${bytes.length} bytes is not a whole number of words`);

  const size = TREE_SIZES[bytes[5]!];
  if (size === undefined) corrupt(`unknown size code ${bytes[5]}`);
  const flags = bytes[6]!;
  if ((flags & ~FLAG_KEYS_KNOWN) !== 0 || bytes[7] !== 0) corrupt('reserved flag bits set');
  const keys = view.getInt32(12, true) * TWO_32 + view.getUint32(8, true);
  if (!Number.isSafeInteger(keys)) corrupt('key count out of range');
  if ((flags & FLAG_KEYS_KNOWN) === 0 && keys !== 0) corrupt('key count present without its flag');

  const branchCount = branchCountOf(size);
  const records = view.getUint32(16, true);
  if (records > branchCount) corrupt(`${records} branch records in a ${size} tree of ${branchCount} branches`);
  const words = wordsOf(bytes);
  const endWord = end / 4;
  const branches = new Array<Uint32Array | undefined>(branchCount).fill(undefined);
  let p = HEADER_WORDS;
  let previous = -1;
  for (let r = 0; r < records; r++) {
    if (p + RECORD_HEAD_WORDS > endWord) corrupt(`branch record ${r} runs past the end`);
    const b = words[p]! >>> 0;
    if (b >= branchCount) corrupt(`branch id ${b} outside a ${size} tree`);
    if (b <= previous) corrupt(`branch id ${b} after ${previous}: records must ascend`);
    previous = b;
    const bitmap = p + 1;
    p += RECORD_HEAD_WORDS;
    let k = 0;
    for (let j = 0; j < BITMAP_WORDS; j++) k += popcount(words[bitmap + j]!);
    if (k === 0) corrupt(`branch ${b} is recorded but empty`);
    if (p + k > endWord) corrupt(`branch ${b} runs past the end`);
    const leaves = new Int32Array(LEAVES_PER_BRANCH);
    let zeroUnderBit = 0;
    // Branch-free, as in encodeTree: every leaf reads the word at p (at most the checksum word,
    // as p + k ≤ endWord), keeps it only under a set bit, and moves p on only past a set bit.
    for (let j = 0; j < BITMAP_WORDS; j++) {
      const m = words[bitmap + j]!;
      for (let bit = 0; bit < 32; bit++) {
        const set = (m >>> bit) & 1;
        const w = words[p]! & -set;
        leaves[j * 32 + bit] = w;
        zeroUnderBit |= set & (((w | -w) >>> 31) ^ 1);
        p += set;
      }
    }
    if (zeroUnderBit !== 0) corrupt(`branch ${b} has a leaf marked non-zero that is zero`);
    branches[b] = new Uint32Array(leaves.buffer);
  }
  if (p !== endWord) corrupt(`${(endWord - p) * 4} unexpected bytes after the last branch record`);
  return { size, keys: (flags & FLAG_KEYS_KNOWN) === 0 ? null : keys, branches };
}

/** The export as little-endian-decoded words: a view when the host and alignment allow. */
function wordsOf(bytes: Uint8Array): Int32Array {
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0) {
    return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }
  // A copy of exactly these bytes, aligned. Not bytes.slice(): on a Node Buffer (what gRPC and
  // msgpack hand over) slice is a view of the same pool, and the words would be read from its start.
  const copy = new Uint8Array(bytes);
  if (!LITTLE_ENDIAN_HOST) swapWords(new Uint32Array(copy.buffer), 0, copy.length / 4);
  return new Int32Array(copy.buffer);
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x5555_5555;
  x = (x & 0x3333_3333) + ((x >>> 2) & 0x3333_3333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f_0f0f, 0x0101_0101) >>> 24);
}

function swapWords(words: Uint32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const w = words[i]!;
    words[i] = ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);
  }
}

/**
 * Writes one branch's bitmap at `at` and its non-zero leaves after it; returns the word after them.
 * Branch-free: every leaf is written at p, and p moves on only past a non-zero one. (Which leaves
 * are zero is data, so a branch per leaf would be mispredicted a third of the time: measured 3×
 * slower.) The stray word written after the last leaf lies inside the output and is overwritten
 * by the next record or the checksum. A function of its own, so V8 optimises this loop alone.
 */
function writeLeaves(leaves: Int32Array, words: Int32Array, at: number): number {
  let p = at + BITMAP_WORDS;
  for (let j = 0; j < BITMAP_WORDS; j++) {
    let m = 0;
    for (let k = 0; k < 32; k++) {
      const w = leaves[j * 32 + k]!;
      const nonZero = (w | -w) >>> 31;
      m |= nonZero << k;
      words[p] = w;
      p += nonZero;
    }
    words[at + j] = m;
  }
  return p;
}

/** Branch-free (see writeLeaves): `(w | −w) >>> 31` is 1 for any non-zero int32 w, 0 for zero. */
export function countNonZero(words: Uint32Array): number {
  const ints = new Int32Array(words.buffer, words.byteOffset, words.length);
  let n = 0;
  for (let i = 0; i < ints.length; i++) {
    const w = ints[i]!;
    n += (w | -w) >>> 31;
  }
  return n;
}

function corrupt(message: string): never {
  throw new AaeError('TREE_EXPORT_CORRUPT', `tree export: ${message}`);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
