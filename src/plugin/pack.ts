/**
 * Batches on their way to a plugin's worker. A hash-and-size batch — what `object_stats` and most
 * plugins read — is packed into one ArrayBuffer that is *transferred*, not copied, so a batch of
 * 1000 entries costs the node's main thread one pass of typed-array writes and a postMessage of a
 * few dozen bytes, instead of a structured clone of 1000 objects (measured in `aae bench plugins`).
 * The worker makes each entry's object from the buffer; a key is a view into it, never copied.
 *
 * Layout (little-endian, n entries, k key bytes), all in one buffer:
 *   u32 keyspace[n] u32 segment32[n] u32 alt[n] u32 hash[n] f64 size[n] u32 keyEnd[n] u16 bucket[n] u8 deleted[n] pad  u8 keys[k]
 * `bucket` indexes the batch's bucket names (sent beside the buffer, a short list); `keyEnd` is the
 * end offset of each key within `keys`. Sizes are f64: any safe integer.
 *
 * Other batches (heads with clocks and index entries, objects with values, index entries, cached
 * tree reads) go by structured clone: correct for every shape, slower per item.
 */
import type { HashSizeEntry } from '../fold/index.js';

export interface PackedHashSizes {
  readonly kind: 'hash_size_packed';
  readonly n: number;
  readonly buckets: string[];
  readonly buffer: ArrayBuffer;
}

/** Packs a batch; the buffer is meant to be transferred. */
export function packHashSizes(items: readonly HashSizeEntry[]): PackedHashSizes {
  const n = items.length;
  let keyBytes = 0;
  for (let i = 0; i < n; i++) keyBytes += items[i]!.key.length;
  const sizesAt = align8(n * 16);
  const keyEndAt = sizesAt + n * 8;
  const bucketAt = keyEndAt + n * 4;
  const deletedAt = bucketAt + n * 2;
  const keysAt = deletedAt + n;
  const buffer = new ArrayBuffer(keysAt + keyBytes);
  const u32 = new Uint32Array(buffer, 0, n * 4);
  const sizes = new Float64Array(buffer, sizesAt, n);
  const keyEnd = new Uint32Array(buffer, keyEndAt, n);
  const bucket = new Uint16Array(buffer, bucketAt, n);
  const bytes = new Uint8Array(buffer);
  const buckets: string[] = [];
  const bucketIndex = new Map<string, number>();
  let last = '';
  let lastIndex = -1;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const e = items[i]!;
    u32[i] = e.keyspace;
    u32[n + i] = e.segment32;
    u32[2 * n + i] = e.alt;
    u32[3 * n + i] = e.hash;
    sizes[i] = e.size;
    // Buckets repeat in runs (heads are in segment order, buckets few): one Map look-up per change.
    if (e.bucket !== last || lastIndex < 0) {
      let b = bucketIndex.get(e.bucket);
      if (b === undefined) {
        b = buckets.length;
        if (b > 0xffff) throw new RangeError('more than 65536 buckets in one batch');
        buckets.push(e.bucket);
        bucketIndex.set(e.bucket, b);
      }
      last = e.bucket;
      lastIndex = b;
    }
    bucket[i] = lastIndex;
    bytes[deletedAt + i] = e.deleted ? 1 : 0;
    bytes.set(e.key, keysAt + at);
    at += e.key.length;
    keyEnd[i] = at;
  }
  return { kind: 'hash_size_packed', n, buckets, buffer };
}

/** The entries of a packed batch (keys are views into its buffer). */
export function unpackHashSizes(p: PackedHashSizes): HashSizeEntry[] {
  const { n, buckets, buffer } = p;
  const sizesAt = align8(n * 16);
  const keyEndAt = sizesAt + n * 8;
  const bucketAt = keyEndAt + n * 4;
  const deletedAt = bucketAt + n * 2;
  const keysAt = deletedAt + n;
  const u32 = new Uint32Array(buffer, 0, n * 4);
  const sizes = new Float64Array(buffer, sizesAt, n);
  const keyEnd = new Uint32Array(buffer, keyEndAt, n);
  const bucket = new Uint16Array(buffer, bucketAt, n);
  const bytes = new Uint8Array(buffer);
  const out = new Array<HashSizeEntry>(n);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = keyEnd[i]!;
    out[i] = {
      bucket: buckets[bucket[i]!]!,
      key: bytes.subarray(keysAt + start, keysAt + end),
      keyspace: u32[i]!,
      segment32: u32[n + i]!,
      alt: u32[2 * n + i]!,
      hash: u32[3 * n + i]!,
      size: sizes[i]!,
      deleted: bytes[deletedAt + i] === 1,
    };
    start = end;
  }
  return out;
}

function align8(x: number): number {
  return (x + 7) & ~7;
}
