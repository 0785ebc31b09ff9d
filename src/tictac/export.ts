/**
 * The export codec: a tree as compact, versioned, checksummed bytes (grammar in docs/FORMAT.md,
 * "TicTac tree export"; version 1 is frozen by fixtures/tree-export-v1.bin).
 *
 * Compact at both ends of the fill range: a branch whose leaves are all zero is not written at
 * all, and a written branch carries a 256-bit map of its non-zero leaves followed by those leaves
 * only. An empty tree is 24 bytes; a large tree of 1M keys (about 63% of its leaves non-zero) is
 * about 2.8 MB rather than 4 MiB. The root is not stored: every root word is the XOR of its leaves,
 * so import recomputes it and a root can never disagree with its leaves.
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

/** ASCII "TTEX": TicTac EXport. */
export const EXPORT_MAGIC = 0x5845_5454; // read as a little-endian u32
export const EXPORT_VERSION = 1;
export const EXPORT_HEADER_BYTES = 20;
export const EXPORT_TRAILER_BYTES = 4;
/** Flags bit 0: the key count field holds a count. */
const FLAG_KEYS_KNOWN = 1;
/** 256 leaves, one bit each. */
const BITMAP_BYTES = LEAVES_PER_BRANCH / 8;
/** branch id (u16) + leaf bitmap. */
const RECORD_HEAD_BYTES = 2 + BITMAP_BYTES;
const TWO_32 = 0x1_0000_0000;

export function encodeTree(content: TreeContent): Uint8Array {
  const { size, keys, branches } = content;
  const branchCount = branchCountOf(size);
  if (branches.length !== branchCount) {
    throw new AaeError('INTERNAL', `a ${size} tree has ${branchCount} branches, got ${branches.length}`);
  }
  if (keys !== null && !Number.isSafeInteger(keys)) {
    throw new AaeError('INTERNAL', `key count ${keys} is not a safe integer`);
  }
  // First pass: how many records and leaves, so the output is allocated once.
  let records = 0;
  let leaves = 0;
  for (let b = 0; b < branchCount; b++) {
    const n = countNonZero(branches[b]);
    if (n > 0) {
      records++;
      leaves += n;
    }
  }
  const total = EXPORT_HEADER_BYTES + records * RECORD_HEAD_BYTES + leaves * 4 + EXPORT_TRAILER_BYTES;
  const out = new Uint8Array(total);
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

  let pos = EXPORT_HEADER_BYTES;
  for (let b = 0; b < branchCount; b++) {
    const words = branches[b];
    if (words === undefined || countNonZero(words) === 0) continue;
    view.setUint16(pos, b, true);
    const bitmap = pos + 2;
    pos += RECORD_HEAD_BYTES;
    for (let i = 0; i < LEAVES_PER_BRANCH; i++) {
      const w = words[i]!;
      if (w === 0) continue;
      out[bitmap + (i >>> 3)]! |= 1 << (i & 7);
      view.setUint32(pos, w, true);
      pos += 4;
    }
  }
  view.setUint32(pos, crc32(out, 0, pos), true);
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
  const branches = new Array<Uint32Array | undefined>(branchCount).fill(undefined);
  let pos = EXPORT_HEADER_BYTES;
  let previous = -1;
  for (let r = 0; r < records; r++) {
    if (pos + RECORD_HEAD_BYTES > end) corrupt(`branch record ${r} runs past the end`);
    const b = view.getUint16(pos, true);
    if (b >= branchCount) corrupt(`branch id ${b} outside a ${size} tree`);
    if (b <= previous) corrupt(`branch id ${b} after ${previous}: records must ascend`);
    previous = b;
    const bitmap = pos + 2;
    pos += RECORD_HEAD_BYTES;
    const words = new Uint32Array(LEAVES_PER_BRANCH);
    let n = 0;
    for (let i = 0; i < LEAVES_PER_BRANCH; i++) {
      if ((bytes[bitmap + (i >>> 3)]! & (1 << (i & 7))) === 0) continue;
      if (pos + 4 > end) corrupt(`branch ${b} runs past the end`);
      const w = view.getUint32(pos, true);
      if (w === 0) corrupt(`branch ${b} leaf ${i} is marked non-zero but is zero`);
      words[i] = w;
      pos += 4;
      n++;
    }
    if (n === 0) corrupt(`branch ${b} is recorded but empty`);
    branches[b] = words;
  }
  if (pos !== end) corrupt(`${end - pos} unexpected bytes after the last branch record`);
  return { size, keys: (flags & FLAG_KEYS_KNOWN) === 0 ? null : keys, branches };
}

function countNonZero(words: Uint32Array | undefined): number {
  if (words === undefined) return 0;
  let n = 0;
  for (let i = 0; i < LEAVES_PER_BRANCH; i++) if (words[i] !== 0) n++;
  return n;
}

function corrupt(message: string): never {
  throw new AaeError('TREE_EXPORT_CORRUPT', `tree export: ${message}`);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
