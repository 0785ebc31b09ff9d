import { AaeError } from '../errors.js';

/**
 * Canonical bytes: the exact inputs to every hash, fixed so that all clusters, nodes and versions
 * build comparable trees. Documented byte by byte in docs/FORMAT.md and frozen by
 * fixtures/format-vectors.json.
 */

const encoder = new TextEncoder();

/** One entry of a vector clock: the actor's name and its counter (a positive safe integer). */
export type ClockEntry = readonly [actor: string, counter: number];

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
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

/** `varint(len(bucketUtf8)) ‖ bucketUtf8 ‖ key`. The key is raw bytes and may be empty. */
export function canonicalKey(bucket: string, key: Uint8Array): Uint8Array {
  const b = utf8(bucket);
  const out = new Uint8Array(varintLength(b.length) + b.length + key.length);
  let pos = writeVarint(out, 0, b.length);
  out.set(b, pos);
  pos += b.length;
  out.set(key, pos);
  return out;
}

/**
 * `varint(count) ‖ (varint(len(actorUtf8)) ‖ actorUtf8 ‖ varint(counter))*`, entries sorted by the
 * actor's UTF-8 bytes. Zero counters are dropped (an actor at 0 has not acted). lastModified is not
 * part of it: two replicas holding the same version hash the same whatever their clocks say of time.
 */
export function canonicalClock(entries: readonly ClockEntry[]): Uint8Array {
  const encoded: Array<{ actor: Uint8Array; counter: number }> = [];
  for (const [actor, counter] of entries) {
    if (!Number.isSafeInteger(counter) || counter < 0) {
      throw new AaeError('CLOCK_INVALID', `clock counter for '${actor}' must be a non-negative integer`);
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
