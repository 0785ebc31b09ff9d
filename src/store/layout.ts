import { AaeError } from '../errors.js';
import { decodeUtf8 } from '../hash/index.js';
import { segmentCountOf, type TreeSize } from '../tictac/index.js';

/**
 * The byte layout of a node's LevelDB (docs/STORE.md has the grammar).
 *
 * Every vnode record starts with `'v' ‖ vnode (u16 BE) ‖ kind`, so one vnode is one contiguous key
 * range (a handoff or a drop is one range delete), and inside it:
 *
 *   head   'h' ‖ keyspace (u16 BE) ‖ bitreverse32(segment32) (u32 BE) ‖ canonicalKey
 *   value  'o' ‖ the same suffix as the head
 *   index  'i' ‖ keyspace (u16 BE) ‖ bucket ‖ 0 ‖ index ‖ 0 ‖ term ‖ 0 ‖ key
 *   tree   't' ‖ keyspace (u16 BE)           (present only between a clean close and the next open)
 *   filter 'k' ‖ keyspace (u16 BE)           (the keyspace's key filter: saved and deleted with the tree)
 *   built  'b'                               (when the vnode's trees were last built from its heads: tree-rebuild.ts)
 *
 * Why the bit reversal: a tree of 2^b segments takes a key's segment from the LOW b bits of its
 * segment32. Reversed, those bits become the HIGH b bits, so every segment of every tree size is
 * one contiguous key range inside its keyspace: fetching the clocks of 128 segments is 128 short
 * seeks, whatever the tree size, and never a scan of the vnode. A get or put computes the head key
 * straight from (bucket, key): the keyspace and segment32 are hashes of the canonical key.
 *
 * Index entries sort by bucket, index name and term (names and terms may not contain NUL, so the 0
 * separator makes "ab" sort before "abc"), so an index fold over a term range is one range scan per
 * keyspace.
 */

export const VNODE_TAG = 0x76; // 'v'
export const KIND_HEAD = 0x68; // 'h'
export const KIND_VALUE = 0x6f; // 'o'
export const KIND_INDEX = 0x69; // 'i'
export const KIND_TREE = 0x74; // 't'
export const KIND_FILTER = 0x6b; // 'k'
export const KIND_BUILT = 0x62; // 'b'
export type RecordKind = typeof KIND_HEAD | typeof KIND_VALUE | typeof KIND_INDEX | typeof KIND_TREE | typeof KIND_FILTER | typeof KIND_BUILT;

/** Bytes before the keyspace: tag, vnode u16, kind. */
export const PREFIX_BYTES = 4;
/** Bytes of a head/value key before the canonical key: prefix, keyspace u16, reversed segment u32. */
export const HEAD_SUFFIX_START = PREFIX_BYTES + 2 + 4;

const MAX_U16 = 0xffff;

/** Reverses the 32 bits of an unsigned 32-bit integer (swap halves, bytes, nibbles, pairs, bits). */
export function bitReverse32(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return ((x >>> 16) | (x << 16)) >>> 0;
}

function checkU16(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_U16) throw new TypeError(`${what} must be an integer in 0..65535, got ${n}`);
}

/** `'v' ‖ vnode ‖ kind`: the first bytes of every record of this kind in this vnode. */
export function kindPrefix(vnode: number, kind: RecordKind): Uint8Array {
  checkU16(vnode, 'vnode');
  return Uint8Array.of(VNODE_TAG, vnode >>> 8, vnode & 0xff, kind);
}

/** The first key after every key that starts with `prefix` (prefix with its last byte +1, carried). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  throw new TypeError('prefixEnd of an all-0xff prefix');
}

/** `'v' ‖ vnode ‖ kind ‖ keyspace`: the first bytes of every record of this kind in one keyspace. */
export function keyspacePrefix(vnode: number, kind: RecordKind, keyspace: number): Uint8Array {
  checkU16(keyspace, 'keyspace');
  const out = new Uint8Array(PREFIX_BYTES + 2);
  out.set(kindPrefix(vnode, kind));
  out[4] = keyspace >>> 8;
  out[5] = keyspace & 0xff;
  return out;
}

/** The key of a head (KIND_HEAD) or value (KIND_VALUE). */
export function objectKey(
  vnode: number,
  kind: typeof KIND_HEAD | typeof KIND_VALUE,
  keyspace: number,
  segment32: number,
  ckey: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(HEAD_SUFFIX_START + ckey.length);
  writeObjectKey(out, vnode, kind, keyspace, segment32, ckey);
  return out;
}

/**
 * Writes objectKey(...) at the start of `out` (at least HEAD_SUFFIX_START + ckey.length bytes);
 * returns its length. The write path builds keys in one reused buffer this way, since LevelDB
 * copies a key into its batch when it is put.
 */
export function writeObjectKey(
  out: Uint8Array,
  vnode: number,
  kind: typeof KIND_HEAD | typeof KIND_VALUE,
  keyspace: number,
  segment32: number,
  ckey: Uint8Array,
): number {
  out[0] = VNODE_TAG;
  out[1] = vnode >>> 8;
  out[2] = vnode & 0xff;
  out[3] = kind;
  out[4] = keyspace >>> 8;
  out[5] = keyspace & 0xff;
  const r = bitReverse32(segment32);
  out[6] = r >>> 24;
  out[7] = (r >>> 16) & 0xff;
  out[8] = (r >>> 8) & 0xff;
  out[9] = r & 0xff;
  out.set(ckey, HEAD_SUFFIX_START);
  return HEAD_SUFFIX_START + ckey.length;
}

/** The same key with its kind byte swapped (head ↔ value): both share their suffix. */
export function withKind(key: Uint8Array, kind: RecordKind): Uint8Array {
  const out = key.slice();
  out[3] = kind;
  return out;
}

export interface ParsedObjectKey {
  keyspace: number;
  segment32: number;
  /** A view into the key: copy it if you keep it past the batch. */
  ckey: Uint8Array;
}

export function parseObjectKey(key: Uint8Array): ParsedObjectKey {
  if (key.length < HEAD_SUFFIX_START + 1 || key[0] !== VNODE_TAG) {
    throw new AaeError('STORE_IO', 'malformed object key in the store');
  }
  const keyspace = (key[4]! << 8) | key[5]!;
  const r = ((key[6]! << 24) | (key[7]! << 16) | (key[8]! << 8) | key[9]!) >>> 0;
  return { keyspace, segment32: bitReverse32(r), ckey: key.subarray(HEAD_SUFFIX_START) };
}

/** log2 of a tree size's segment count: how many low bits of segment32 name the segment. */
export function segmentBits(size: TreeSize): number {
  return 31 - Math.clz32(segmentCountOf(size));
}

/**
 * The reversed-segment range [lo, hi) of one segment of a tree of `bits` bits: the keys of that
 * segment are exactly the head keys of the keyspace whose reversed segment32 lies in it.
 * `hi` may be 2^32 (the range runs to the end of the keyspace).
 */
export function segmentRange(segment: number, bits: number): { lo: number; hi: number } {
  if (!Number.isInteger(bits) || bits < 1 || bits > 31) throw new TypeError(`segment bits must be in 1..31, got ${bits}`);
  const width = 2 ** (32 - bits);
  const lo = (bitReverse32(segment) >>> (32 - bits)) * width;
  return { lo, hi: lo + width };
}

/** `keyspacePrefix ‖ u32 BE`, or the keyspace's end when `rev` is 2^32. */
export function headRangeKey(vnode: number, kind: typeof KIND_HEAD | typeof KIND_VALUE, keyspace: number, rev: number): Uint8Array {
  const p = keyspacePrefix(vnode, kind, keyspace);
  if (rev >= 2 ** 32) return prefixEnd(p);
  const out = new Uint8Array(p.length + 4);
  out.set(p);
  new DataView(out.buffer).setUint32(p.length, rev);
  return out;
}

/** Index names and terms are UTF-8 strings without NUL (NUL separates them in keys). */
export function validateIndexPart(s: string, what: string): void {
  if (typeof s !== 'string' || s.includes('\0') || !s.isWellFormed()) {
    throw new AaeError('KEY_INVALID', `${what} must be a well-formed string without NUL`);
  }
}

const encoder = new TextEncoder();

/** `'v' ‖ vnode ‖ 'i' ‖ keyspace ‖ bucket ‖ 0 ‖ index ‖ 0 ‖ term ‖ 0 ‖ key`. Pass fewer parts for a prefix. */
export function indexKey(
  vnode: number,
  keyspace: number,
  bucket: string,
  index?: string,
  term?: string,
  key?: Uint8Array,
): Uint8Array {
  const parts: Uint8Array[] = [keyspacePrefix(vnode, KIND_INDEX, keyspace), encoder.encode(bucket), ZERO];
  if (index !== undefined) {
    parts.push(encoder.encode(index), ZERO);
    if (term !== undefined) {
      parts.push(encoder.encode(term), ZERO);
      if (key !== undefined) parts.push(key);
    }
  }
  return concat(parts);
}

const ZERO = Uint8Array.of(0);

export interface ParsedIndexKey {
  keyspace: number;
  bucket: string;
  index: string;
  term: string;
  key: Uint8Array;
}

export function parseIndexKey(k: Uint8Array): ParsedIndexKey {
  const keyspace = (k[4]! << 8) | k[5]!;
  const a = k.indexOf(0, PREFIX_BYTES + 2);
  const b = a < 0 ? -1 : k.indexOf(0, a + 1);
  const c = b < 0 ? -1 : k.indexOf(0, b + 1);
  if (c < 0) throw new AaeError('STORE_IO', 'malformed index key in the store');
  try {
    return {
      keyspace,
      bucket: decodeUtf8(k.subarray(PREFIX_BYTES + 2, a)),
      index: decodeUtf8(k.subarray(a + 1, b)),
      term: decodeUtf8(k.subarray(b + 1, c)),
      key: k.slice(c + 1),
    };
  } catch (e) {
    throw new AaeError('STORE_IO', 'malformed index key in the store: not UTF-8', { cause: e });
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** The key of a vnode's saved tree for one keyspace. */
export function treeKey(vnode: number, keyspace: number): Uint8Array {
  return keyspacePrefix(vnode, KIND_TREE, keyspace);
}

/** The key of a vnode's saved key filter for one keyspace (key-filter.ts). */
export function filterKey(vnode: number, keyspace: number): Uint8Array {
  return keyspacePrefix(vnode, KIND_FILTER, keyspace);
}

/** The key of a vnode's rebuild record: when its trees were last built from its heads (tree-rebuild.ts). */
export function builtKey(vnode: number): Uint8Array {
  return kindPrefix(vnode, KIND_BUILT);
}

/** Node-level metadata lives before every vnode record. */
export const META_FORMAT_KEY = Uint8Array.of(0x00, 0x66); // 0 'f'
/** The ring the node's records were placed by (ring-stamp.ts). */
export const META_RING_KEY = Uint8Array.of(0x00, 0x72); // 0 'r'
/**
 * The store layout (docs/STORE.md). 2: heads hold hash-format-2 object hashes (a tombstone hashes
 * apart from a live version of the same clock). A store of layout 1 is migrated when it is opened
 * (migrate-format.ts); one of a later layout is refused.
 */
export const STORE_FORMAT_VERSION = 2;
/** Layouts an open migrates from. */
export const MIGRATABLE_FORMATS: readonly number[] = [1];
