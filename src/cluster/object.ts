import { AaeError, quote } from '../errors.js';
import { compareBytes, decodeUtf8, objectHash, utf8, validateBucket, type HashMethod } from '../hash/index.js';
import { compareClocks, type Clock } from './clock.js';

/**
 * Objects, heads and keys.
 *
 * A key is `(bucket, key)`: the bucket a non-empty UTF-8 string without NUL, the key a byte string.
 * An object is the key, its clock, its value bytes, a `deleted` flag (a tombstone keeps its clock so
 * that a delete can win against an older write) and its secondary index entries. A head is the
 * object without its value, plus the value's size and the object hash: what most folds read.
 *
 * JSON shows keys and values as UTF-8 text when they are valid UTF-8 and as `{"base64": "…"}`
 * otherwise, so every byte string round-trips exactly.
 */

export interface ObjectKey {
  bucket: string;
  key: Uint8Array;
}

/** A secondary index entry: the index's name and the term this object is filed under. */
export type IndexEntry = readonly [indexName: string, term: string];

export interface AaeObject {
  bucket: string;
  key: Uint8Array;
  clock: Clock;
  value: Uint8Array;
  /** A tombstone: the value is empty, the clock is kept. */
  deleted: boolean;
  indexes: readonly IndexEntry[];
}

export interface ObjectHead {
  bucket: string;
  key: Uint8Array;
  clock: Clock;
  deleted: boolean;
  /** Value bytes. */
  size: number;
  /** objectHash by the cluster's hash method and seed. */
  hash: number;
  indexes: readonly IndexEntry[];
}

/** A JSON-safe byte string: text when it is valid UTF-8, else base64. */
export type BytesJson = string | { base64: string };

export function keyToBytes(k: string | Uint8Array): Uint8Array {
  if (typeof k === 'string') {
    if (!k.isWellFormed()) throw new AaeError('KEY_INVALID', 'key must be well-formed UTF-16 text');
    return utf8(k);
  }
  if (k instanceof Uint8Array) return k;
  throw new TypeError('key must be a string or a Uint8Array');
}

/** The bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
export function bytesToText(bytes: Uint8Array): string | undefined {
  try {
    return decodeUtf8(bytes);
  } catch {
    return undefined;
  }
}

export function bytesToJson(bytes: Uint8Array): BytesJson {
  const text = bytesToText(bytes);
  return text ?? { base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A key's identity as a string, for maps and sets of keys: bucket, NUL (never in a bucket), then
 * the key's bytes one char each. Reads the bytes in place (no copy).
 */
export function keyIdentity(k: { bucket: string; key: Uint8Array }): string {
  return `${k.bucket}\u0000${Buffer.from(k.key.buffer, k.key.byteOffset, k.key.byteLength).toString('latin1')}`;
}

/** Inverse of bytesToJson. `what` names the field in the error (KEY_INVALID for keys). */
function bytesFromJson(v: unknown, what: string, code: 'KEY_INVALID' | 'INVALID_ARGUMENT'): Uint8Array {
  if (typeof v === 'string') {
    if (!v.isWellFormed()) throw new AaeError(code, `${what} must be well-formed text`);
    return utf8(v);
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const fields = Object.keys(v);
    const b64 = (v as { base64?: unknown }).base64;
    if (fields.length === 1 && typeof b64 === 'string') {
      if (!BASE64.test(b64)) throw new AaeError(code, `${what}.base64 is not canonical base64`);
      return new Uint8Array(Buffer.from(b64, 'base64'));
    }
  }
  throw new AaeError(code, `${what} must be a string or {"base64": string}`);
}

export function keyToJson(key: Uint8Array): BytesJson {
  return bytesToJson(key);
}

export function keyFromJson(v: unknown): Uint8Array {
  return bytesFromJson(v, 'key', 'KEY_INVALID');
}

/**
 * A value given as text: its UTF-8 bytes. A lone surrogate has no UTF-8 form (an encoder would
 * write U+FFFD, and the value would not read back as written): INVALID_ARGUMENT.
 */
export function textValueBytes(s: string): Uint8Array {
  if (!s.isWellFormed()) throw new AaeError('INVALID_ARGUMENT', 'value text must be well-formed (a lone surrogate has no UTF-8 form)');
  return utf8(s);
}

export function valueToJson(value: Uint8Array): BytesJson {
  return bytesToJson(value);
}

export function valueFromJson(v: unknown): Uint8Array {
  return bytesFromJson(v, 'value', 'INVALID_ARGUMENT');
}

export function validateObjectKey(k: ObjectKey): void {
  validateBucket(k.bucket);
  if (!(k.key instanceof Uint8Array)) throw new AaeError('KEY_INVALID', 'key must be bytes');
}

/** Index names and terms: well-formed text without NUL (the store may use NUL as a separator); names non-empty. */
export function validateIndexEntry(entry: IndexEntry): void {
  const [name, term] = entry;
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0') || !name.isWellFormed()) {
    throw new AaeError('KEY_INVALID', 'index name must be non-empty well-formed text without NUL');
  }
  if (typeof term !== 'string' || term.includes('\0') || !term.isWellFormed()) {
    throw new AaeError('KEY_INVALID', `index term for ${quote(name)} must be well-formed text without NUL`);
  }
}

/** Validated, sorted (by name, then term, in UTF-8 byte order) and without duplicates. */
export function normaliseIndexes(entries: Iterable<IndexEntry>): IndexEntry[] {
  const list: Array<{ e: IndexEntry; n: Uint8Array; t: Uint8Array }> = [];
  for (const e of entries) {
    validateIndexEntry(e);
    list.push({ e: [e[0], e[1]], n: utf8(e[0]), t: utf8(e[1]) });
  }
  list.sort((x, y) => compareBytes(x.n, y.n) || compareBytes(x.t, y.t));
  const out: IndexEntry[] = [];
  for (let i = 0; i < list.length; i++) {
    const cur = list[i]!;
    const prev = list[i - 1];
    if (prev !== undefined && prev.e[0] === cur.e[0] && prev.e[1] === cur.e[1]) continue;
    out.push(cur.e);
  }
  return out;
}

const NO_VALUE = new Uint8Array(0);

/**
 * The object hash of a version, as the trees use it (docs/FORMAT.md): of its clock under hash method
 * `clock`, of its value under `value`; a tombstone has no value. The one place a version's hash is
 * worked out, for the store's heads and for anyone checking them. Needs initHash().
 */
export function versionHash(obj: Pick<AaeObject, 'clock' | 'value' | 'deleted'>, hashMethod: HashMethod, seed: number): number {
  return objectHash(hashMethod, seed, obj.clock.entries, obj.deleted ? NO_VALUE : obj.value, obj.deleted);
}

/** The head of an object: everything but the value, plus its size and hash. Needs initHash(). */
export function headOf(obj: AaeObject, hashMethod: HashMethod, seed: number): ObjectHead {
  return {
    bucket: obj.bucket,
    key: obj.key,
    clock: obj.clock,
    deleted: obj.deleted,
    size: obj.deleted ? 0 : obj.value.byteLength,
    hash: versionHash(obj, hashMethod, seed),
    indexes: obj.indexes,
  };
}

/**
 * The version a reader should see among several replicas' (nulls skipped): the one that dominates
 * the others; among concurrent ones, the latest lastModified. Null when no replica has the key.
 */
export function dominantObject<T extends { clock: Clock }>(objects: Iterable<T | null>): T | null {
  let best: T | null = null;
  for (const object of objects) {
    if (object === null) continue;
    if (best === null) {
      best = object;
      continue;
    }
    const order = compareClocks(object.clock, best.clock);
    if (order === 'left' || (order === 'concurrent' && object.clock.lastModified > best.clock.lastModified)) best = object;
  }
  return best;
}
