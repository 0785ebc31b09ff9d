import { AaeError, quote } from '../errors.js';
import { copyInto } from './copy.js';

/**
 * Canonical bytes: the exact inputs to every hash, fixed so that all clusters, nodes and versions
 * build comparable trees. Documented byte by byte in docs/FORMAT.md and frozen by
 * fixtures/format-vectors.json.
 *
 * Every write hashes a key and a clock, so the encoders are built for speed without changing a
 * byte: a bucket's encoded prefix is cached (stores have few buckets); `writeKey` and
 * `writeNormalClock` encode into a caller's buffer (the wasm scratch, see xxhash.ts) rather than
 * allocating; and a clock already in normal form, as src/cluster always hands us, is checked in
 * one pass instead of being sorted. Anything unusual (zero counters, unsorted or non-ASCII actors)
 * goes through `canonicalClockSlow`, the general definition, which the tests compare the fast
 * path with.
 */

const encoder = new TextEncoder();

/**
 * The one UTF-8 decoder for text the toolkit stored: `fatal` (invalid bytes throw instead of
 * becoming U+FFFD) and `ignoreBOM` (a leading U+FEFF is text, not a byte-order mark to drop). So
 * decodeUtf8(utf8(s)) === s for every well-formed string, a leading U+FEFF included: without
 * `ignoreBOM` a bucket "\ufeffb" read back as "b" and an actor "\ufeff" as "".
 */
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of UTF-8 bytes, exactly (see strictDecoder); throws a TypeError on invalid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

/** One entry of a vector clock: the actor's name and its counter (a positive safe integer). */
export type ClockEntry = readonly [actor: string, counter: number];

/** Strings up to this length are tried as ASCII first (V8 keeps typed arrays this small on its heap). */
const ASCII_FAST_MAX = 64;

/**
 * The UTF-8 bytes of `s`. Keys, buckets and actors are short and nearly always ASCII, and
 * TextEncoder's call into C++ costs more than the copy (measured ~1 µs a key): short ASCII strings
 * are copied by a loop instead, which gives the same bytes.
 */
export function utf8(s: string): Uint8Array {
  const n = s.length;
  if (n > ASCII_FAST_MAX) return encoder.encode(s);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** Appends an unsigned LEB128 varint of `n` (0 ≤ n ≤ 2^53−1) to `out` at `pos`; returns the new position. */
export function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[pos++] = n;
  return pos;
}

export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/** A bucket is a non-empty UTF-8 string without NUL. */
export function validateBucket(bucket: string): void {
  if (typeof bucket !== 'string' || bucket.length === 0) {
    throw new AaeError('KEY_INVALID', 'bucket must be a non-empty string');
  }
  if (bucket.includes('\0')) throw new AaeError('KEY_INVALID', 'bucket must not contain NUL');
  if (!bucket.isWellFormed()) throw new AaeError('KEY_INVALID', 'bucket must be well-formed UTF-8');
}

/**
 * The encoded `varint(len(bucketUtf8)) ‖ bucketUtf8` of recent buckets. A store has a handful of
 * buckets and encodes one per key, so this saves a TextEncoder call and an allocation per key.
 * Entries are never handed out (callers copy from them), so nobody can alter a cached prefix.
 */
const prefixes = new Map<string, Uint8Array>();
/** Buckets are few in practice; the bound only stops a caller with millions of buckets from
 * growing the cache without limit (it is cleared when full: simple, and a refill is cheap). */
const PREFIX_CACHE_MAX = 1024;

/** `varint(len(bucketUtf8)) ‖ bucketUtf8`: the canonical key's head. Do not modify the result. */
export function bucketPrefix(bucket: string): Uint8Array {
  let p = prefixes.get(bucket);
  if (p === undefined) {
    const b = utf8(bucket);
    p = new Uint8Array(varintLength(b.length) + b.length);
    p.set(b, writeVarint(p, 0, b.length));
    if (prefixes.size >= PREFIX_CACHE_MAX) prefixes.clear();
    prefixes.set(bucket, p);
  }
  return p;
}

/** Writes `prefix ‖ key` into `out` at `pos` (room checked by the caller); returns the new position. */
export function writeKey(out: Uint8Array, pos: number, prefix: Uint8Array, key: Uint8Array): number {
  return copyInto(out, copyInto(out, pos, prefix), key);
}

/** `varint(len(bucketUtf8)) ‖ bucketUtf8 ‖ key`. The key is raw bytes and may be empty. */
export function canonicalKey(bucket: string, key: Uint8Array): Uint8Array {
  const prefix = bucketPrefix(bucket);
  const out = new Uint8Array(prefix.length + key.length);
  writeKey(out, 0, prefix, key);
  return out;
}

/**
 * `varint(count) ‖ (varint(len(actorUtf8)) ‖ actorUtf8 ‖ varint(counter))*`, entries sorted by the
 * actor's UTF-8 bytes. Zero counters are dropped (an actor at 0 has not acted). lastModified is not
 * part of it: two replicas holding the same version hash the same whatever their clocks say of time.
 */
export function canonicalClock(entries: readonly ClockEntry[]): Uint8Array {
  const end = writeNormalClock(clockScratch, 0, entries);
  return end >= 0 ? clockScratch.slice(0, end) : canonicalClockSlow(entries);
}

/**
 * The most bytes `writeNormalClock` can write: it takes fewer than 128 entries of actors shorter
 * than 128 ASCII characters, so a one-byte count plus 127 × (one-byte length + 127 + an 8-byte
 * counter varint, counters being below 2^53). 17,273 bytes: a quarter of the hashing scratch's
 * first page, so the hot path needs no per-clock bound.
 */
export const NORMAL_CLOCK_MAX_BYTES = 1 + 127 * (1 + 127 + 8);

/** Where `canonicalClock` encodes before copying out exactly the bytes written. */
const clockScratch = new Uint8Array(NORMAL_CLOCK_MAX_BYTES);

/**
 * The fast path of `canonicalClock`: writes its bytes into `out` at `pos` and returns the end,
 * provided `out` has `NORMAL_CLOCK_MAX_BYTES` of room there and the clock is already in normal form
 * (as every clock from src/cluster is) and simple: fewer than 128 entries, ASCII actors shorter than
 * 128 characters, every counter a positive safe integer, actors strictly ascending. Otherwise it
 * returns -1 having written garbage, and the caller takes `canonicalClockSlow`, which sorts, drops
 * zeros and throws on bad input. Checking the order costs one string comparison an entry; for ASCII,
 * UTF-16 order is the UTF-8 byte order we need.
 */
export function writeNormalClock(out: Uint8Array, pos: number, entries: readonly ClockEntry[]): number {
  const count = entries.length;
  if (count >= 0x80 || out.length - pos < NORMAL_CLOCK_MAX_BYTES) return -1;
  out[pos++] = count;
  let prev = '';
  for (let i = 0; i < count; i++) {
    const entry = entries[i]!;
    const actor = entry[0];
    const counter = entry[1];
    // Number.isSafeInteger(counter) && counter > 0, spelled out: measurably cheaper here.
    if (typeof actor !== 'string' || typeof counter !== 'number') return -1;
    if (!(counter > 0 && counter <= Number.MAX_SAFE_INTEGER) || Math.floor(counter) !== counter) return -1;
    const len = actor.length;
    if (len >= 0x80 || (i > 0 && !(prev < actor))) return -1;
    prev = actor;
    out[pos++] = len;
    for (let j = 0; j < len; j++) {
      const c = actor.charCodeAt(j);
      if (c >= 0x80) return -1;
      out[pos++] = c;
    }
    if (counter >= 0x80) pos = writeVarint(out, pos, counter);
    else out[pos++] = counter;
  }
  return pos;
}

/** The general `canonicalClock`: any order, zero counters, non-ASCII actors; validates. */
export function canonicalClockSlow(entries: readonly ClockEntry[]): Uint8Array {
  const encoded: Array<{ actor: Uint8Array; counter: number }> = [];
  for (const [actor, counter] of entries) {
    if (!Number.isSafeInteger(counter) || counter < 0) {
      throw new AaeError('CLOCK_INVALID', `clock counter for ${quote(actor)} must be a non-negative integer`);
    }
    if (counter === 0) continue;
    encoded.push({ actor: utf8(actor), counter });
  }
  encoded.sort((x, y) => compareBytes(x.actor, y.actor));
  for (let i = 1; i < encoded.length; i++) {
    if (compareBytes(encoded[i - 1]!.actor, encoded[i]!.actor) === 0) {
      throw new AaeError('CLOCK_INVALID', 'clock names an actor twice');
    }
  }
  let size = varintLength(encoded.length);
  for (const e of encoded) size += varintLength(e.actor.length) + e.actor.length + varintLength(e.counter);
  const out = new Uint8Array(size);
  let pos = writeVarint(out, 0, encoded.length);
  for (const e of encoded) {
    pos = writeVarint(out, pos, e.actor.length);
    out.set(e.actor, pos);
    pos += e.actor.length;
    pos = writeVarint(out, pos, e.counter);
  }
  return out;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
