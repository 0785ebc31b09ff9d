import { Packr } from 'msgpackr';
import type { Clock } from '../cluster/index.js';
import { AaeError } from '../errors.js';

/**
 * The encode/decode pair of a head's value (docs/STORE.md). A head is everything about an object
 * but its value: clock, last-modified time, tombstone flag, value size, object hash, the key's `alt`
 * hash (so a tree rebuild needs no key hashing) and secondary-index entries. It is one msgpack array:
 *
 *   [1, [actor, counter, actor, counter, …], lastModified, deleted, size, hash, alt, [index, term, …]]
 *
 * Flat arrays, not arrays of pairs: a head fold decodes one of these per entry and every nested
 * array is an allocation. Decoding validates every field; anything else is STORE_IO (corrupt data),
 * never a half-typed object flowing inward.
 */

export const HEAD_FORMAT = 1;

export interface HeadValue {
  /** In normal form (sorted by actor, no zero counters), as src/cluster/clock.ts makes them. */
  clock: Clock;
  deleted: boolean;
  /** Bytes of the value (0 for a tombstone). */
  size: number;
  /** The object hash by the cluster's hash method. */
  hash: number;
  /** High 32 bits of the key hash: contribution = alt XOR hash. */
  alt: number;
  indexes: ReadonlyArray<readonly [string, string]>;
}

// Plain msgpack: no record structures (they would make the bytes depend on what was packed
// before) and no bundled strings.
const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

export function encodeHead(h: HeadValue): Uint8Array {
  const clock: Array<string | number> = [];
  for (const [actor, counter] of h.clock.entries) clock.push(actor, counter);
  const idx: string[] = [];
  for (const [name, term] of h.indexes) idx.push(name, term);
  return packr.pack([HEAD_FORMAT, clock, h.clock.lastModified, h.deleted, h.size, h.hash, h.alt, idx]);
}

function corrupt(what: string): never {
  throw new AaeError('STORE_IO', `corrupt head in the store: ${what}`);
}

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
}

export function decodeHead(bytes: Uint8Array): HeadValue {
  let v: unknown;
  try {
    v = packr.unpack(bytes);
  } catch (e) {
    throw new AaeError('STORE_IO', 'corrupt head in the store: not msgpack', { cause: e });
  }
  if (!Array.isArray(v) || v.length !== 8 || v[0] !== HEAD_FORMAT) corrupt('not a format-1 head');
  const [, clock, lastModified, deleted, size, hash, alt, idx] = v as unknown[];
  if (!Array.isArray(clock) || clock.length % 2 !== 0) corrupt('clock');
  const clockEntries: Array<readonly [string, number]> = [];
  for (let i = 0; i < clock.length; i += 2) {
    const actor: unknown = clock[i];
    const counter: unknown = clock[i + 1];
    if (typeof actor !== 'string' || typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 0) corrupt('clock entry');
    clockEntries.push([actor, counter]);
  }
  if (typeof lastModified !== 'number' || !Number.isSafeInteger(lastModified) || lastModified < 0) corrupt('lastModified');
  if (typeof deleted !== 'boolean') corrupt('deleted');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) corrupt('size');
  if (!isU32(hash) || !isU32(alt)) corrupt('hash');
  if (!Array.isArray(idx) || idx.length % 2 !== 0) corrupt('indexes');
  const indexes: Array<readonly [string, string]> = [];
  for (let i = 0; i < idx.length; i += 2) {
    const name: unknown = idx[i];
    const term: unknown = idx[i + 1];
    if (typeof name !== 'string' || typeof term !== 'string') corrupt('index entry');
    indexes.push([name, term]);
  }
  return { clock: { entries: clockEntries, lastModified }, deleted, size, hash, alt, indexes };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A plain Uint8Array view of `bytes` from `start` (no copy). LevelDB hands out Buffers, whose
 * slice() is also a Buffer; callers get plain Uint8Arrays, so equality never depends on the class.
 */
export function plainView(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start);
}

/**
 * Splits canonical key bytes (`varint(len(bucket)) ‖ bucket ‖ key`) into bucket and key. Folds
 * decode one per entry and most entries share a bucket, so the last bucket's bytes and string are
 * remembered: a repeat costs a byte compare instead of a UTF-8 decode.
 */
export class CanonicalKeyReader {
  private lastBytes: Uint8Array = new Uint8Array(0);
  private lastBucket = '';

  read(ckey: Uint8Array): { bucket: string; key: Uint8Array } {
    let len = 0;
    let shift = 1;
    let pos = 0;
    for (;;) {
      if (pos >= ckey.length) throw new AaeError('STORE_IO', 'corrupt canonical key in the store');
      const b = ckey[pos++]!;
      len += (b & 0x7f) * shift;
      if (b < 0x80) break;
      shift *= 0x80;
    }
    const end = pos + len;
    if (end > ckey.length || len === 0) throw new AaeError('STORE_IO', 'corrupt canonical key in the store');
    return { bucket: this.bucketOf(ckey, pos, end), key: plainView(ckey, end) };
  }

  private bucketOf(ckey: Uint8Array, start: number, end: number): string {
    const last = this.lastBytes;
    if (last.length === end - start) {
      let same = true;
      for (let i = 0; i < last.length; i++) {
        if (last[i] !== ckey[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastBucket;
    }
    this.lastBytes = ckey.slice(start, end);
    try {
      this.lastBucket = decoder.decode(this.lastBytes);
    } catch (e) {
      throw new AaeError('STORE_IO', 'corrupt bucket in the store', { cause: e });
    }
    return this.lastBucket;
  }
}
