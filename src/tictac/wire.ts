/**
 * The root and branch payloads of an exchange, as bytes on the wire (grammar in docs/FORMAT.md,
 * "Root and branch payloads"). Every word is a little-endian uint32.
 *
 * - root: the branchCount root words in branch order (16 KiB for a large tree). No header: the
 *   exchange knows the tree size it asked for, and the length must match it exactly.
 * - branches: a u32 count, then per branch its u32 id and its 256 leaves (1028 bytes a branch),
 *   ids strictly ascending.
 *
 * Decoding validates everything it returns, so the pure compare functions receive exactly the
 * shapes they expect: a wrong length is TREE_ROOT_INVALID, an id outside the tree is
 * TREE_SEGMENT_INVALID.
 */
import { AaeError } from '../errors.js';
import { HASH_BYTES, LEAVES_PER_BRANCH, MAX_BRANCH_COUNT, branchCountOf, treeSizeOfBranchCount, type TreeSize } from './sizes.js';

/** One branch on the wire: its id and its leaves. */
const BRANCH_RECORD_BYTES = 4 + LEAVES_PER_BRANCH * HASH_BYTES;

export function encodeRoot(root: Uint32Array): Uint8Array {
  if (!(root instanceof Uint32Array) || treeSizeOfBranchCount(root.length) === undefined) {
    throw new AaeError('TREE_ROOT_INVALID', `a root has the branch count of a tree size, got ${describe(root)}`);
  }
  return wordsToBytes(root);
}

/** Decodes a root of a `size` tree; any other length is TREE_ROOT_INVALID. */
export function decodeRoot(bytes: Uint8Array, size: TreeSize): Uint32Array {
  const expected = branchCountOf(size) * HASH_BYTES;
  if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
    throw new AaeError('TREE_ROOT_INVALID', `a ${size} root is ${expected} bytes, got ${describe(bytes)}`);
  }
  return bytesToWords(bytes, 0, branchCountOf(size));
}

/** Encodes branch id → 256 leaves (ids in 0..16383, written in ascending order). */
export function encodeBranches(branches: ReadonlyMap<number, Uint32Array>): Uint8Array {
  const ids = [...branches.keys()].sort((x, y) => x - y);
  const out = new Uint8Array(4 + ids.length * BRANCH_RECORD_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, ids.length, true);
  let pos = 4;
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= MAX_BRANCH_COUNT) {
      throw new AaeError('TREE_SEGMENT_INVALID', `branch id ${id} is outside 0..${MAX_BRANCH_COUNT - 1}`);
    }
    const leaves = branches.get(id)!;
    if (!(leaves instanceof Uint32Array) || leaves.length !== LEAVES_PER_BRANCH) {
      throw new AaeError('TREE_ROOT_INVALID', `branch ${id} must have 256 leaves, got ${describe(leaves)}`);
    }
    view.setUint32(pos, id, true);
    pos += 4;
    for (let i = 0; i < LEAVES_PER_BRANCH; i++, pos += 4) view.setUint32(pos, leaves[i]!, true);
  }
  return out;
}

/** Decodes the branches of a `size` tree: branch id → 256 leaves. */
export function decodeBranches(bytes: Uint8Array, size: TreeSize): Map<number, Uint32Array> {
  if (!(bytes instanceof Uint8Array) || bytes.length < 4) {
    throw new AaeError('TREE_ROOT_INVALID', `a branch payload is at least 4 bytes, got ${describe(bytes)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (bytes.length !== 4 + count * BRANCH_RECORD_BYTES) {
    throw new AaeError(
      'TREE_ROOT_INVALID',
      `a payload of ${count} branches is ${4 + count * BRANCH_RECORD_BYTES} bytes, got ${bytes.length}`,
    );
  }
  const branchCount = branchCountOf(size);
  const out = new Map<number, Uint32Array>();
  let previous = -1;
  for (let r = 0, pos = 4; r < count; r++, pos += BRANCH_RECORD_BYTES) {
    const id = view.getUint32(pos, true);
    if (id >= branchCount) {
      throw new AaeError('TREE_SEGMENT_INVALID', `branch id ${id} is outside 0..${branchCount - 1} of a ${size} tree`);
    }
    if (id <= previous) throw new AaeError('TREE_ROOT_INVALID', `branch id ${id} after ${previous}: ids must ascend`);
    previous = id;
    out.set(id, bytesToWords(bytes, pos + 4, LEAVES_PER_BRANCH));
  }
  return out;
}

function wordsToBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * HASH_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(i * HASH_BYTES, words[i]!, true);
  return out;
}

function bytesToWords(bytes: Uint8Array, offset: number, count: number): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * HASH_BYTES);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(i * HASH_BYTES, true);
  return out;
}

function describe(x: unknown): string {
  if (x instanceof Uint8Array) return `${x.length} bytes`;
  if (x instanceof Uint32Array) return `${x.length} words`;
  return typeof x;
}
