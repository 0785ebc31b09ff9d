import { AaeError } from '../errors.js';
import { decodeUtf8, utf8 } from '../hash/index.js';

/**
 * Canonical row bytes: what a keystore hashes for one row (docs/FORMAT.md, "Canonical row
 * bytes"), and what it uses as the key bytes of a key of several columns. Engine-neutral: a
 * PostgreSQL row, a Redis string and an etcd value all become a list of texts (null for SQL NULL)
 * first, so equal data in two engines hashes equally.
 *
 *   one value, not null   →  its UTF-8 text, exactly        (a table `id, val` equals Redis strings)
 *   one value, null       →  FF
 *   several values        →  FE ‖ varint(count) ‖ per value: 00 (null) | 01 ‖ varint(len) ‖ UTF-8
 *
 * FF and FE never occur in UTF-8, so neither form can equal any text: a NULL differs from '', and a
 * row of several columns never equals a one-column row. The length prefixes make the split of the
 * values unambiguous (('ab', 'c') and ('a', 'bc') differ). Zero values is the several-values form
 * with count 0 (a table whose only columns are its key).
 */

export const NULL_ONE = 0xff;
export const SEVERAL = 0xfe;

/**
 * A value: its text, or that text's UTF-8 bytes as they came off the wire (the snapshot's COPY
 * and the feed's tuples keep bytes, so a row is hashed without decoding and re-encoding it), or
 * null. Bytes must be well-formed UTF-8 (PostgreSQL's client encoding is UTF8).
 */
export type RowValue = string | Uint8Array | null;
export type RowValues = ReadonlyArray<RowValue>;

const NULL_ONE_BYTES = Uint8Array.of(NULL_ONE);

function bytesOf(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? utf8(v) : v;
}

export function canonicalRowBytes(values: RowValues): Uint8Array {
  if (values.length === 1) {
    const v = values[0]!;
    return v === null ? NULL_ONE_BYTES : bytesOf(v);
  }
  const parts: Uint8Array[] = [];
  let size = 1 + varintLength(values.length);
  for (const v of values) {
    if (v === null) {
      size += 1;
      parts.push(EMPTY);
      continue;
    }
    const b = bytesOf(v);
    parts.push(b);
    size += 1 + varintLength(b.length) + b.length;
  }
  const out = new Uint8Array(size);
  out[0] = SEVERAL;
  let p = writeVarint(out, 1, values.length);
  values.forEach((v, i) => {
    if (v === null) {
      out[p++] = 0;
      return;
    }
    const b = parts[i]!;
    out[p++] = 1;
    p = writeVarint(out, p, b.length);
    out.set(b, p);
    p += b.length;
  });
  return out;
}

/** A key's bytes: one column is its text; several are the canonical row bytes of their texts. */
export function keyBytesOf(values: ReadonlyArray<string | Uint8Array>): Uint8Array {
  return canonicalRowBytes(values);
}

const EMPTY = new Uint8Array(0);

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(out: Uint8Array, p: number, n: number): number {
  while (n >= 0x80) {
    out[p++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[p++] = n;
  return p;
}

/** The inverse of canonicalRowBytes, given how many values the row has (a one-value row is ambiguous without it). */
export function decodeRowBytes(bytes: Uint8Array, count: number): Array<string | null> {
  // Strict, and a leading U+FEFF is text (decodeUtf8): every value reads back exactly as written.
  const dec = { decode: decodeUtf8 };
  const bad = (why: string): never => {
    throw new AaeError('INVALID_ARGUMENT', `not canonical row bytes: ${why}`);
  };
  if (count === 1) {
    if (bytes.length === 1 && bytes[0] === NULL_ONE) return [null];
    try {
      return [dec.decode(bytes)];
    } catch {
      return bad('a one-value row that is not UTF-8');
    }
  }
  if (bytes[0] !== SEVERAL) bad('no FE marker');
  let p = 1;
  const varint = (): number => {
    let n = 0;
    let mul = 1;
    for (;;) {
      if (p >= bytes.length) bad('truncated');
      const b = bytes[p++]!;
      n += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return n;
      mul *= 128;
    }
  };
  const n = varint();
  if (n !== count) bad(`${n} values where ${count} were expected`);
  const out: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    if (p >= bytes.length) bad('truncated');
    const tag = bytes[p++];
    if (tag === 0) {
      out.push(null);
      continue;
    }
    if (tag !== 1) bad(`value tag ${tag}`);
    const len = varint();
    if (p + len > bytes.length) bad('truncated');
    try {
      out.push(dec.decode(bytes.subarray(p, p + len)));
    } catch {
      bad('a value that is not UTF-8');
    }
    p += len;
  }
  if (p !== bytes.length) bad('trailing bytes');
  return out;
}
