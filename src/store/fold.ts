import { AaeError, throwIfAborted } from '../errors.js';
import { compareBytes, decodeUtf8 } from '../hash/index.js';
import { segmentCountOf } from '../tictac/index.js';
import { CanonicalKeyReader, decodeStoredHead, plainView, readHashSize, type HeadHashSize } from './codec.js';
import {
  HEAD_SUFFIX_START,
  KIND_HEAD,
  KIND_VALUE,
  indexKey,
  keyspacePrefix,
  kindPrefix,
  prefixEnd,
  segmentBits,
  segmentRange,
  withKind,
  bitReverse32,
} from './layout.js';
import { namingNode, type NodeDb } from './node-db.js';
import type { FoldFilter, FoldOptions, IndexEntryRecord, IndexFoldFilter, StoredHashSize, StoredHead, StoredObject } from './vnode.js';

/**
 * Vnode folds: streams of heads, objects or index entries, read with nextv batches.
 *
 * A head fold reads head records only (values live under another prefix, layout.ts), so it never
 * touches a value. Keyspaces narrow the fold to key ranges; segments narrow each keyspace to one
 * short range per segment (bit-reversed segment order makes a segment of any tree size contiguous),
 * read with one iterator per keyspace that seeks from range to range. Buckets, key ranges and
 * modified ranges are filters applied to each head as it passes (heads are in segment order, not
 * key order). Every iterator is closed in a finally; an AbortSignal is checked before each nextv.
 *
 * One scan serves every head-based fold; what it makes of an entry is an ItemMaker's choice. A head
 * fold decodes the whole head (clock, index entries); a hash-and-size fold reads only the head's
 * leading fixed fields (codec readHashSize), which is most of what a fold of hashes and sizes used
 * to spend per entry. Both see exactly the same entries: the key filters run before the maker, the
 * time filter inside it on the lastModified it read.
 */

/** Entries per nextv on a full scan: big enough to amortise the native call (~1 µs), small enough to keep a batch's memory a few hundred KiB. */
export const DEFAULT_FOLD_BATCH = 1000;
/**
 * Entries per first nextv inside one segment's range. At 1M keys per vnode a segment of a large tree
 * holds ~0.3 keys per keyspace, so 2 entries usually hold the range's key and the first key past it
 * (every entry read costs two Buffers); the read size doubles while a range goes on.
 */
const SEGMENT_FIRST_READ = 2;
/**
 * Iterators a segment fold reads with at once. classic-level seeks synchronously on the main
 * thread and reads (nextv) in its thread pool (4 threads), so more iterators than threads keep
 * reads in flight while the main thread seeks: 8 measured ~10–20% faster than 4 for 128 segments
 * of a 1M-key vnode; 16 no faster than 8.
 */
const SEGMENT_SCAN_ITERATORS = 8;

interface ScanRange {
  keyspace: number;
  /** Reversed-segment bounds [lo, hi) within the keyspace; hi may be 2^32. */
  lo: number;
  hi: number;
}

/** The keyspaces a fold visits: the filter's (all held by the vnode) or all the vnode holds. */
export function foldKeyspaces(held: readonly number[], wanted: readonly number[] | undefined): number[] {
  if (wanted === undefined) return [...held].sort((a, b) => a - b);
  const set = new Set(held);
  for (const k of wanted) {
    if (!set.has(k)) throw new AaeError('INVALID_ARGUMENT', `keyspace ${k} is not held by this vnode (it holds ${held.join(', ')})`);
  }
  return [...new Set(wanted)].sort((a, b) => a - b);
}

function scanRanges(keyspaces: readonly number[], filter: FoldFilter): ScanRange[] {
  const out: ScanRange[] = [];
  const segs = filter.segments;
  if (segs === undefined) {
    for (const keyspace of keyspaces) out.push({ keyspace, lo: 0, hi: 2 ** 32 });
    return out;
  }
  const bits = segmentBits(segs.treeSize);
  const count = segmentCountOf(segs.treeSize);
  const ranges: Array<{ lo: number; hi: number }> = [];
  for (const id of new Set(segs.ids)) {
    if (!Number.isInteger(id) || id < 0 || id >= count) {
      throw new AaeError('TREE_SEGMENT_INVALID', `segment ${id} is outside a ${segs.treeSize} tree (0..${count - 1})`);
    }
    ranges.push(segmentRange(id, bits));
  }
  ranges.sort((a, b) => a.lo - b.lo);
  const merged: Array<{ lo: number; hi: number }> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.hi === r.lo) last.hi = r.hi;
    else merged.push({ ...r });
  }
  for (const keyspace of keyspaces) for (const r of merged) out.push({ keyspace, ...r });
  return out;
}

function revOf(key: Uint8Array): number {
  return ((key[6]! << 24) | (key[7]! << 16) | (key[8]! << 8) | key[9]!) >>> 0;
}

function seekKey(vnode: number, keyspace: number, rev: number): Uint8Array {
  const p = keyspacePrefix(vnode, KIND_HEAD, keyspace);
  const out = new Uint8Array(p.length + 4);
  out.set(p);
  new DataView(out.buffer).setUint32(p.length, rev);
  return out;
}

/** A compiled per-entry test for the cheap filters (bucket, key range) and the head filter (time). */
class EntryFilter {
  private readonly buckets: Set<string> | undefined;
  private readonly keyStart: Uint8Array | undefined;
  private readonly keyEnd: Uint8Array | undefined;
  private readonly modStart: number;
  private readonly modEnd: number;

  constructor(filter: FoldFilter) {
    this.buckets = filter.buckets === undefined ? undefined : new Set(filter.buckets);
    this.keyStart = filter.keyRange?.start;
    this.keyEnd = filter.keyRange?.end;
    this.modStart = filter.modifiedRange?.start ?? -Infinity;
    this.modEnd = filter.modifiedRange?.end ?? Infinity;
  }

  keyOk(bucket: string, key: Uint8Array): boolean {
    if (this.buckets !== undefined && !this.buckets.has(bucket)) return false;
    if (this.keyStart !== undefined && compareBytes(key, this.keyStart) < 0) return false;
    if (this.keyEnd !== undefined && compareBytes(key, this.keyEnd) > 0) return false;
    return true;
  }

  timeOk(lastModified: number): boolean {
    return lastModified >= this.modStart && lastModified <= this.modEnd;
  }
}

export interface FoldSource {
  db: NodeDb;
  vnode: number;
  held: readonly number[];
}

/**
 * Heads matching the filter, in (keyspace, reversed segment, canonical key) order, in batches of at
 * most `batchSize`.
 */
export async function* foldHeads(src: FoldSource, filter: FoldFilter, options: FoldOptions = {}): AsyncGenerator<StoredHead[]> {
  for await (const batch of named(src, scanHeads(src, filter, options, false, makeHead))) yield batch.heads;
}

/**
 * The batches of `inner`, a STORE_IO raised while decoding them (a head or key that does not
 * decode) naming the node that holds it. LevelDB's own errors are named by NodeDb already.
 */
async function* named<T>(src: FoldSource, inner: AsyncGenerator<T>): AsyncGenerator<T> {
  try {
    yield* inner;
  } catch (e) {
    throw namingNode(e, src.db.node);
  }
}

/**
 * The heads foldHeads yields for the same filter, in the same order and batches, as hash-and-size
 * records: clocks and index entries are never decoded.
 */
export async function* foldHashSizes(src: FoldSource, filter: FoldFilter, options: FoldOptions = {}): AsyncGenerator<StoredHashSize[]> {
  for await (const batch of named(src, scanHeads(src, filter, options, false, makeHashSize))) yield batch.heads;
}

/**
 * Makes a fold's item of one head entry whose key passed the key filters: `v` is the head's bytes,
 * `test` the compiled filter (for the time filter). Undefined when the head is outside the
 * modified range.
 */
type ItemMaker<T> = (v: Uint8Array, bucket: string, key: Uint8Array, keyspace: number, segment32: number, test: EntryFilter) => T | undefined;

function makeHead(v: Uint8Array, bucket: string, key: Uint8Array, keyspace: number, segment32: number, test: EntryFilter): StoredHead | undefined {
  const h = decodeStoredHead(v, bucket, key, keyspace, segment32);
  return test.timeOk(h.clock.lastModified) ? h : undefined;
}

/** readHashSize's target: read at once by makeHashSize, never kept (folds run on one thread). */
const hs: HeadHashSize = { hash: 0, alt: 0, deleted: false, size: 0, lastModified: 0 };

function makeHashSize(v: Uint8Array, bucket: string, key: Uint8Array, keyspace: number, segment32: number, test: EntryFilter): StoredHashSize | undefined {
  readHashSize(v, hs);
  if (!test.timeOk(hs.lastModified)) return undefined;
  return { bucket, key, keyspace, segment32, alt: hs.alt, hash: hs.hash, size: hs.size, deleted: hs.deleted };
}

interface HeadBatch<T> {
  heads: T[];
  /** The head keys, parallel to heads, when asked for (an object fold derives value keys from them). */
  keys: Uint8Array[];
}

async function* scanHeads<T>(src: FoldSource, filter: FoldFilter, options: FoldOptions, keepKeys: boolean, make: ItemMaker<T>): AsyncGenerator<HeadBatch<T>> {
  const batchSize = options.batchSize ?? DEFAULT_FOLD_BATCH;
  const keyspaces = foldKeyspaces(src.held, filter.keyspaces);
  const ranges = scanRanges(keyspaces, filter);
  const decode = new EntryDecoder(filter, keepKeys, make);
  if (filter.segments !== undefined) {
    yield* segmentScan(src, ranges, decode, batchSize, options.signal);
    return;
  }
  for (const keyspace of keyspaces) {
    const prefix = keyspacePrefix(src.vnode, KIND_HEAD, keyspace);
    const it = src.db.iterator({ gte: prefix, lt: prefixEnd(prefix) });
    // One read ahead: the next nextv runs in LevelDB's thread while this batch is decoded.
    let pending: Promise<Array<[Uint8Array, Uint8Array]>> | undefined;
    try {
      throwIfAborted(options.signal);
      pending = it.nextv(batchSize);
      for (;;) {
        const entries = await pending;
        pending = undefined;
        if (entries.length === 0) break;
        throwIfAborted(options.signal);
        pending = it.nextv(batchSize);
        for (const [k, v] of entries) {
          decode.entry(k, v, keyspace);
          if (decode.heads.length >= batchSize) yield decode.take();
        }
      }
    } finally {
      if (pending !== undefined) await pending.catch(() => undefined);
      await it.close();
    }
  }
  if (decode.heads.length > 0) yield decode.take();
}

/** Turns head entries that pass the filter into items (by its maker), gathering them (and their keys) into a batch. */
class EntryDecoder<T> {
  heads: T[] = [];
  keys: Uint8Array[] = [];
  private readonly test: EntryFilter;
  private readonly reader = new CanonicalKeyReader();

  constructor(
    private readonly filter: FoldFilter,
    readonly keepKeys: boolean,
    private readonly make: ItemMaker<T>,
  ) {
    this.test = new EntryFilter(filter);
  }

  /** A fresh decoder of the same filter and maker (one for each concurrent segment-scan group). */
  fork(): EntryDecoder<T> {
    return new EntryDecoder(this.filter, this.keepKeys, this.make);
  }

  entry(k: Uint8Array, v: Uint8Array, keyspace: number): void {
    const key = this.reader.readKey(k, HEAD_SUFFIX_START);
    const bucket = this.reader.bucket;
    if (!this.test.keyOk(bucket, key)) return;
    const item = this.make(v, bucket, key, keyspace, bitReverse32(revOf(k)), this.test);
    if (item === undefined) return;
    this.heads.push(item);
    if (this.keepKeys) this.keys.push(k);
  }

  take(): HeadBatch<T> {
    const b = { heads: this.heads, keys: this.keys };
    this.heads = [];
    this.keys = [];
    return b;
  }
}

/**
 * Concurrent seeks for segment folds: each range is a seek and a short read, so the cost is the
 * round trips to LevelDB's threads, not the entries. The ranges (already in key order) are split
 * into contiguous groups, one iterator each, read at the same time; the groups' results are then
 * yielded in order. A segment fold's result is what an exchange asks for (128 segments a round),
 * so holding it whole is bounded by the request.
 */
async function* segmentScan<T>(
  src: FoldSource,
  ranges: readonly ScanRange[],
  decode: EntryDecoder<T>,
  batchSize: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<HeadBatch<T>> {
  const groupSize = Math.ceil(ranges.length / SEGMENT_SCAN_ITERATORS);
  const groups: Array<readonly ScanRange[]> = [];
  for (let i = 0; i < ranges.length; i += groupSize) groups.push(ranges.slice(i, i + groupSize));
  const results = await Promise.all(groups.map((g) => scanGroup(src, g, decode.fork(), signal)));
  for (const r of results) {
    for (let i = 0; i < r.heads.length; i++) {
      decode.heads.push(r.heads[i]!);
      if (decode.keepKeys) decode.keys.push(r.keys[i]!);
      if (decode.heads.length >= batchSize) yield decode.take();
    }
  }
  if (decode.heads.length > 0) yield decode.take();
}

async function scanGroup<T>(src: FoldSource, ranges: readonly ScanRange[], out: EntryDecoder<T>, signal: AbortSignal | undefined): Promise<HeadBatch<T>> {
  const all = kindPrefix(src.vnode, KIND_HEAD);
  const it = src.db.iterator({ gte: all, lt: prefixEnd(all) });
  try {
    for (const r of ranges) {
      it.seek(seekKey(src.vnode, r.keyspace, r.lo));
      let size = SEGMENT_FIRST_READ;
      for (;;) {
        throwIfAborted(signal);
        const entries = await it.nextv(size);
        if (entries.length === 0) break;
        let past = false;
        for (const [k, v] of entries) {
          if (((k[4]! << 8) | k[5]!) !== r.keyspace || revOf(k) >= r.hi) {
            past = true;
            break;
          }
          out.entry(k, v, r.keyspace);
        }
        if (past) break;
        size = Math.min(size * 2, DEFAULT_FOLD_BATCH);
      }
    }
  } finally {
    await it.close();
  }
  return out.take();
}

/** Objects (head and value) matching the filter: a head fold plus one getMany of values per batch. */
export async function* foldObjects(src: FoldSource, filter: FoldFilter, options: FoldOptions = {}): AsyncGenerator<StoredObject[]> {
  const EMPTY = new Uint8Array(0);
  for await (const { heads, keys } of named(src, scanHeads(src, filter, options, true, makeHead))) {
    const liveKeys: Uint8Array[] = [];
    for (let i = 0; i < heads.length; i++) if (!heads[i]!.deleted) liveKeys.push(valueKeyOfHeadKey(keys[i]!));
    const values = await src.db.getMany(liveKeys);
    throwIfAborted(options.signal);
    let j = 0;
    const out: StoredObject[] = heads.map((h) => {
      if (h.deleted) return { ...h, value: EMPTY };
      const value = values[j++];
      if (value === undefined) throw new AaeError('STORE_IO', `node ${src.db.node}, vnode ${src.vnode}: the value of a live head is missing`);
      return { ...h, value: plainView(value) };
    });
    yield out;
  }
}

/** The value key of a head key (they share their suffix). */
export function valueKeyOfHeadKey(headKey: Uint8Array): Uint8Array {
  return withKind(headKey, KIND_VALUE);
}

/** Index entries of one bucket's index, in (keyspace, term, key) order. */
export function foldIndex(src: FoldSource, filter: IndexFoldFilter, options: FoldOptions = {}): AsyncGenerator<IndexEntryRecord[]> {
  return named(src, indexEntries(src, filter, options));
}

async function* indexEntries(src: FoldSource, filter: IndexFoldFilter, options: FoldOptions): AsyncGenerator<IndexEntryRecord[]> {
  const batchSize = options.batchSize ?? DEFAULT_FOLD_BATCH;
  const keyspaces = foldKeyspaces(src.held, filter.keyspaces);
  const keyStart = filter.keyRange?.start;
  const keyEnd = filter.keyRange?.end;
  for (const keyspace of keyspaces) {
    const base = indexKey(src.vnode, keyspace, filter.bucket, filter.index);
    const gte = filter.termRange === undefined ? base : indexKey(src.vnode, keyspace, filter.bucket, filter.index, filter.termRange.start);
    const lt = filter.termRange === undefined ? prefixEnd(base) : prefixEnd(indexKey(src.vnode, keyspace, filter.bucket, filter.index, filter.termRange.end));
    if (compareBytes(gte, lt) >= 0) continue;
    const it = src.db.iterator({ gte, lt });
    try {
      for (;;) {
        throwIfAborted(options.signal);
        const entries = await it.nextv(batchSize);
        if (entries.length === 0) break;
        const out: IndexEntryRecord[] = [];
        for (const [k] of entries) {
          const z = k.indexOf(0, base.length);
          if (z < 0) throw new AaeError('STORE_IO', 'malformed index key in the store');
          const key = plainView(k, z + 1);
          if (keyStart !== undefined && compareBytes(key, keyStart) < 0) continue;
          if (keyEnd !== undefined && compareBytes(key, keyEnd) > 0) continue;
          let term: string;
          try {
            term = decodeUtf8(k.subarray(base.length, z));
          } catch (e) {
            throw new AaeError('STORE_IO', 'malformed index term in the store', { cause: e });
          }
          out.push({ keyspace, bucket: filter.bucket, index: filter.index, term, key });
        }
        if (out.length > 0) yield out;
      }
    } finally {
      await it.close();
    }
  }
}
