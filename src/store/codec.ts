import type { Clock } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import type { Head } from '../node/index.js';
import { contribution, decodeUtf8 } from '../hash/index.js';
import type { StoredHead } from './vnode.js';

/**
 * The encode/decode pair of a head's value (docs/STORE.md). A head is everything about an object
 * but its value: clock, last-modified time, tombstone flag, value size, object hash, the key's `alt`
 * hash (so a tree rebuild needs no key hashing) and secondary-index entries. It is one msgpack array:
 *
 *   [1, hash, alt, deleted, size, lastModified, [actor, counter, actor, counter, …], [index, term, …]]
 *
 * hash and alt come first so a tree rebuild reads them from fixed positions without decoding the
 * rest (`readContribution`); flat arrays, not arrays of pairs, because a head fold decodes one per
 * entry and every nested array is an allocation. Encoding (head-encoder.ts) writes the bytes
 * msgpackr writes (a test compares the two); decoding is a small reader of exactly the msgpack types this format uses
 * (faster than a general unpack, and it validates as it goes): anything else is STORE_IO (corrupt
 * data), never a half-typed object flowing inward.
 */

export const HEAD_FORMAT = 1;

/** A head as stored (see the node contract's Head): clock in normal form (sorted by actor, no zero counters). */
export type HeadValue = Head;

function corrupt(what: string): never {
  throw new AaeError('STORE_IO', `corrupt head in the store: ${what}`);
}

/**
 * The last few short strings decoded, by their bytes. Heads repeat the same few actor names (and
 * often the same index names) entry after entry; a byte compare is cheaper than a decode and a new
 * string. 16 slots (by length and first byte) hold a cluster's actors; strings over 32 bytes are
 * not cached (rare, and a compare would cost as much as the decode).
 */
class StringCache {
  private readonly bytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(16).fill(undefined);
  private readonly strs: string[] = new Array<string>(16).fill('');

  private slot(b: Uint8Array, start: number, end: number): number {
    return ((end - start) * 31 + (end > start ? b[start]! : 0)) & 15;
  }

  lookup(b: Uint8Array, start: number, end: number): string | undefined {
    const i = this.slot(b, start, end);
    const c = this.bytes[i];
    if (c === undefined || c.length !== end - start) return undefined;
    for (let j = 0; j < c.length; j++) if (c[j] !== b[start + j]) return undefined;
    return this.strs[i];
  }

  remember(b: Uint8Array, start: number, end: number, s: string): void {
    if (end - start > 32) return;
    const i = this.slot(b, start, end);
    this.bytes[i] = Uint8Array.prototype.slice.call(b, start, end);
    this.strs[i] = s;
  }
}

/** A cursor over one head's bytes, reading the msgpack types the head format uses. */
class Reader {
  pos = 0;
  private b: Uint8Array = new Uint8Array(0);
  private readonly strings = new StringCache();

  /** Points the reader at new bytes (one reader serves a whole fold: no allocation per head). */
  reset(b: Uint8Array): this {
    this.b = b;
    this.pos = 0;
    return this;
  }

  private byte(): number {
    if (this.pos >= this.b.length) corrupt('truncated');
    return this.b[this.pos++]!;
  }

  private be(n: number): number {
    const b = this.b;
    const p = this.pos;
    if (p + n > b.length) corrupt('truncated');
    this.pos = p + n;
    if (n === 4) return b[p]! * 0x100_0000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + b[p + i]!;
    return v;
  }

  /** A non-negative integer up to 2^53 (fixint, uint8..64, or a float64 holding an integer). */
  uint(what: string): number {
    const t = this.byte();
    if (t < 0x80) return t;
    switch (t) {
      case 0xcc:
        return this.byte();
      case 0xcd:
        return this.be(2);
      case 0xce:
        return this.be(4);
      case 0xcf: {
        const v = this.be(8);
        if (!Number.isSafeInteger(v)) corrupt(what);
        return v;
      }
      case 0xcb: {
        if (this.pos + 8 > this.b.length) corrupt('truncated');
        const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 8).getFloat64(0);
        this.pos += 8;
        if (!Number.isSafeInteger(v) || v < 0) corrupt(what);
        return v;
      }
      default:
        return corrupt(what);
    }
  }

  bool(what: string): boolean {
    const t = this.byte();
    if (t === 0xc3) return true;
    if (t === 0xc2) return false;
    return corrupt(what);
  }

  arrayLength(what: string): number {
    const t = this.byte();
    if ((t & 0xf0) === 0x90) return t & 0x0f;
    if (t === 0xdc) return this.be(2);
    if (t === 0xdd) return this.be(4);
    return corrupt(what);
  }

  str(what: string): string {
    const t = this.byte();
    let n: number;
    if ((t & 0xe0) === 0xa0) n = t & 0x1f;
    else if (t === 0xd9) n = this.byte();
    else if (t === 0xda) n = this.be(2);
    else if (t === 0xdb) n = this.be(4);
    else return corrupt(what);
    const start = this.pos;
    const end = start + n;
    if (end > this.b.length) corrupt('truncated');
    this.pos = end;
    const cached = this.strings.lookup(this.b, start, end);
    if (cached !== undefined) return cached;
    let str: string;
    try {
      str = decodeUtf8(this.b.subarray(start, end));
    } catch (e) {
      throw new AaeError('STORE_IO', `corrupt head in the store: ${what} is not UTF-8`, { cause: e });
    }
    this.strings.remember(this.b, start, end, str);
    return str;
  }

  get done(): boolean {
    return this.pos === this.b.length;
  }
}

function isU32(n: number): boolean {
  return n <= 0xffff_ffff;
}

/** Checks the array header and version: both decoders start here. */
function openHead(r: Reader): void {
  if (r.arrayLength('not a head') !== 8 || r.uint('format') !== HEAD_FORMAT) corrupt('not a format-1 head');
}

const shared = new Reader();
/** Most heads have no index entries: they share one frozen empty list (a fold decodes one head per entry). */
const NO_INDEXES: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

export function decodeHead(bytes: Uint8Array): HeadValue {
  readHead(bytes);
  return { clock: d.clock, deleted: d.deleted, size: d.size, hash: d.hash, alt: d.alt, indexes: d.indexes };
}

/**
 * A fold's head: the decoded head plus where its key lives, built as one object (a fold decodes one
 * head per entry; a HeadValue in between would be one more allocation each).
 */
export function decodeStoredHead(bytes: Uint8Array, bucket: string, key: Uint8Array, keyspace: number, segment32: number): StoredHead {
  readHead(bytes);
  return { bucket, key, clock: d.clock, deleted: d.deleted, size: d.size, hash: d.hash, indexes: d.indexes, keyspace, segment32, alt: d.alt };
}

/** The fields of the head readHead decoded last (read at once by the caller, never kept). */
const d = { clock: { entries: [], lastModified: 0 } as Clock, deleted: false, size: 0, hash: 0, alt: 0, indexes: NO_INDEXES };

function readHead(bytes: Uint8Array): void {
  const r = shared.reset(bytes);
  openHead(r);
  const hash = r.uint('hash');
  const alt = r.uint('alt');
  if (!isU32(hash) || !isU32(alt)) corrupt('hash');
  const deleted = r.bool('deleted');
  const size = r.uint('size');
  const lastModified = r.uint('lastModified');
  const clockLen = r.arrayLength('clock');
  if (clockLen % 2 !== 0) corrupt('clock');
  const entries: Array<readonly [string, number]> = [];
  for (let i = 0; i < clockLen; i += 2) {
    const actor = r.str('clock actor');
    entries.push([actor, r.uint('clock counter')]);
  }
  const idxLen = r.arrayLength('indexes');
  if (idxLen % 2 !== 0) corrupt('indexes');
  let indexes = NO_INDEXES;
  if (idxLen > 0) {
    const list: Array<readonly [string, string]> = [];
    for (let i = 0; i < idxLen; i += 2) {
      const name = r.str('index name');
      list.push([name, r.str('index term')]);
    }
    indexes = list;
  }
  if (!r.done) corrupt('trailing bytes');
  d.clock = { entries, lastModified };
  d.deleted = deleted;
  d.size = size;
  d.hash = hash;
  d.alt = alt;
  d.indexes = indexes;
}

/** The leading fields of a head that a hash-and-size fold needs (clock entries and index entries excluded). */
export interface HeadHashSize {
  hash: number;
  alt: number;
  deleted: boolean;
  size: number;
  lastModified: number;
}

/**
 * Reads a head's first five fields — hash, alt, tombstone flag, size, lastModified — into `out` and
 * stops: the clock's actors and the index entries (most of a head's bytes, and every string) are
 * never read, and nothing is allocated. For folds that need hashes and sizes only (merge_tree_range,
 * object_stats): a full decode measured ~660 ns an entry, these five fields ~110–210 ns. It checks
 * what it reads but not the bytes after lastModified; decodeHead still validates whole heads.
 */
export function readHashSize(bytes: Uint8Array, out: HeadHashSize): void {
  const r = readHashesWith(bytes, out);
  out.deleted = r.bool('deleted');
  out.size = r.uint('size');
  out.lastModified = r.uint('lastModified');
}

/** The key's contribution to its segment (src/hash's contribution(alt, hash)), read without decoding the rest: for tree rebuilds. */
export function readContribution(bytes: Uint8Array): number {
  readHashes(bytes, scratch);
  return contribution(scratch.alt, scratch.hash);
}

const scratch = { hash: 0, alt: 0 };

/** A head's object hash and alt, read at their fixed positions into `out` (nothing allocated): for rebuilds. */
export function readHashes(bytes: Uint8Array, out: { hash: number; alt: number }): void {
  readHashesWith(bytes, out);
}

/** Opens a head, reads its hash and alt into `out`, and hands back the reader positioned after them. */
function readHashesWith(bytes: Uint8Array, out: { hash: number; alt: number }): typeof shared {
  const r = shared.reset(bytes);
  openHead(r);
  const hash = r.uint('hash');
  const alt = r.uint('alt');
  if (!isU32(hash) || !isU32(alt)) corrupt('hash');
  out.hash = hash;
  out.alt = alt;
  return r;
}

/**
 * A plain Uint8Array view of `bytes` from `start` (no copy). LevelDB hands out Buffers, whose
 * slice() is also a Buffer; callers get plain Uint8Arrays, so equality never depends on the class.
 */
export function plainView(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start);
}

/**
 * Buckets a CanonicalKeyReader remembers. A fold reads heads in segment order, not key order, so
 * over a few buckets it switches bucket at almost every entry: one remembered bucket missed 3
 * entries in 4 over the fold bench's 4 buckets (a slice and a UTF-8 decode each). 8 covers the
 * common case of a handful of buckets; with more buckets interleaved a miss costs up to 8 short
 * length compares more than one slot did.
 */
const BUCKET_SLOTS = 8;

/**
 * Splits canonical key bytes (`varint(len(bucket)) ‖ bucket ‖ key`) into bucket and key. Folds
 * decode one per entry and most entries share one of a few buckets, so the last BUCKET_SLOTS
 * buckets' bytes and strings are remembered: a repeat costs a byte compare instead of a UTF-8 decode.
 */
export class CanonicalKeyReader {
  /** Recent buckets' bytes and strings, parallel, most recently decoded first (BUCKET_SLOTS at most). */
  private readonly recentBytes: Uint8Array[] = [];
  private readonly recentBuckets: string[] = [];

  /** The bucket of the last key read. */
  bucket = '';

  /** Reads the canonical key at `ckey[offset…]`: returns the key (a view, no copy) and sets `bucket`. */
  readKey(ckey: Uint8Array, offset = 0): Uint8Array {
    let len = 0;
    let shift = 1;
    let pos = offset;
    for (;;) {
      if (pos >= ckey.length) throw new AaeError('STORE_IO', 'corrupt canonical key in the store');
      const b = ckey[pos++]!;
      len += (b & 0x7f) * shift;
      if (b < 0x80) break;
      shift *= 0x80;
    }
    const end = pos + len;
    if (end > ckey.length || len === 0) throw new AaeError('STORE_IO', 'corrupt canonical key in the store');
    this.bucket = this.bucketOf(ckey, pos, end);
    return plainView(ckey, end);
  }

  /** readKey as one object, for one-off reads. */
  read(ckey: Uint8Array): { bucket: string; key: Uint8Array } {
    const key = this.readKey(ckey);
    return { bucket: this.bucket, key };
  }

  private bucketOf(ckey: Uint8Array, start: number, end: number): string {
    const recent = this.recentBytes;
    const n = end - start;
    for (let s = 0; s < recent.length; s++) {
      const known = recent[s]!;
      if (known.length !== n) continue;
      let same = true;
      for (let i = 0; i < n; i++) {
        if (known[i] !== ckey[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.recentBuckets[s]!;
    }
    const bytes = Uint8Array.prototype.slice.call(ckey, start, end);
    let bucket: string;
    try {
      bucket = decodeUtf8(bytes);
    } catch (e) {
      throw new AaeError('STORE_IO', 'corrupt bucket in the store', { cause: e });
    }
    if (recent.length >= BUCKET_SLOTS) {
      recent.pop();
      this.recentBuckets.pop();
    }
    recent.unshift(bytes);
    this.recentBuckets.unshift(bucket);
    return bucket;
  }
}
