import { indexNsOfVnode, keyspaceOfHash, type Clock } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { bucketPrefix, contribution, keyPlacement, writeKey } from '../hash/index.js';
import { TicTacTree } from '../tictac/index.js';
import { readHashes } from './codec.js';
import { encodeHeadView } from './head-encoder.js';
import { KeyFilter } from './key-filter.js';
import { HEAD_SUFFIX_START, KIND_HEAD, VNODE_TAG, bitReverse32, filterKey, kindPrefix, prefixEnd, treeKey } from './layout.js';
import type { StoreParams } from './locate.js';
import { NodeDb, type BatchOp } from './node-db.js';
import { encodeTreeRecord } from './tree-persist.js';

/**
 * Loading valueless heads into a node store that holds no data yet: a keystore's build, which
 * reads a whole table once (docs/STORE.md, "Bulk loads").
 *
 * The vnode write path is made for a store that is read and written at once: each flush reads the
 * old heads its key filters cannot rule out, goes through a write queue, and alters trees one op
 * at a time, so that a tree always describes the flushes that landed. A fresh store being filled
 * by one writer needs none of that, and pays for it: a build went at 0.26× the rate of a plain
 * read of the same rows. So this path, for a store nobody else has open:
 *
 * - gathers a run of heads in memory (keys and encoded heads in one growing byte arena), then
 *   sorts the run into key order (a counting sort on the vnode, keyspace and the top bits of the
 *   bit-reversed segment, which is how layout.ts orders heads, then the rest by comparison inside
 *   each of the ~30-key buckets) and writes it in large batches. LevelDB fills sorted runs into
 *   tables whose ranges do not overlap, which its compaction moves down a level instead of merging
 *   and rewriting them: a random-order load of 1M heads is rewritten several times over;
 * - builds each keyspace's tree and key filter in memory as it goes (no queue, no per-op tree
 *   alteration), and saves them at the end exactly as a clean close saves them, so the next open
 *   restores them;
 * - is an upsert all the same: a key added twice keeps its last head (duplicates inside a run meet
 *   in the sort; a key of an earlier run is found because the key filter says it may be there,
 *   and only those few keys are read back), and the trees count each key once.
 *
 * A run is at most `maxRunBytes` of keys and heads (default 256 MiB, about 3M keystore heads):
 * a table that fits is written in one sorted pass; a larger one in several sorted runs.
 */

/** What a keystore row becomes: its hash, size and clock (no value, not deleted, no index entries). */
export interface BulkHead {
  readonly hash: number;
  readonly size: number;
  readonly clock: Clock;
}

export interface BulkLoadOptions {
  /** Bytes of keys and heads held before a run is sorted and written. */
  maxRunBytes?: number;
}

/** 256 MiB of keys and heads: a keystore head is ~70–90 bytes, so about three million rows a run. */
const DEFAULT_MAX_RUN_BYTES = 256 * 1024 * 1024;
/** Room reserved for a head before it is encoded: a keystore head is under 100 bytes (one clock entry, no index entries). */
const MAX_HEAD_BYTES = 4096;
/** Ops per LevelDB batch: big enough to amortise the native write, a few MiB of memtable. */
const WRITE_BATCH = 16_384;

/** One (vnode, keyspace) the node holds: its tree and filter, in key order of the store. */
interface Share {
  readonly vnode: number;
  readonly keyspace: number;
  readonly tree: TicTacTree;
  readonly filter: KeyFilter;
}

/** A run's entries, struct of arrays: where each key and head sits in the arena, and its hashes. */
class Run {
  arena = new Uint8Array(1 << 20);
  used = 0;
  count = 0;
  keyOff = new Uint32Array(1 << 14);
  keyLen = new Uint16Array(1 << 14);
  headLen = new Uint16Array(1 << 14);
  share = new Uint16Array(1 << 14);
  segment32 = new Uint32Array(1 << 14);
  rev = new Uint32Array(1 << 14);
  alt = new Uint32Array(1 << 14);
  hash = new Uint32Array(1 << 14);
  /** 1: the key filter said the key may have been loaded by an earlier run. */
  suspect = new Uint8Array(1 << 14);

  reserve(bytes: number): void {
    if (this.used + bytes > this.arena.length) {
      const grown = new Uint8Array(Math.max(2 * this.arena.length, this.used + bytes));
      grown.set(this.arena.subarray(0, this.used));
      this.arena = grown;
    }
    if (this.count === this.keyOff.length) {
      const n = 2 * this.count;
      const grow = <T extends Uint8Array | Uint16Array | Uint32Array>(a: T, make: (n: number) => T): T => {
        const b = make(n);
        b.set(a);
        return b;
      };
      this.keyOff = grow(this.keyOff, (k) => new Uint32Array(k));
      this.keyLen = grow(this.keyLen, (k) => new Uint16Array(k));
      this.headLen = grow(this.headLen, (k) => new Uint16Array(k));
      this.share = grow(this.share, (k) => new Uint16Array(k));
      this.segment32 = grow(this.segment32, (k) => new Uint32Array(k));
      this.rev = grow(this.rev, (k) => new Uint32Array(k));
      this.alt = grow(this.alt, (k) => new Uint32Array(k));
      this.hash = grow(this.hash, (k) => new Uint32Array(k));
      this.suspect = grow(this.suspect, (k) => new Uint8Array(k));
    }
  }

  key(i: number): Uint8Array {
    const o = this.keyOff[i]!;
    return this.arena.subarray(o, o + this.keyLen[i]!);
  }

  head(i: number): Uint8Array {
    const o = this.keyOff[i]! + this.keyLen[i]!;
    return this.arena.subarray(o, o + this.headLen[i]!);
  }

  clear(): void {
    this.used = 0;
    this.count = 0;
  }
}

export class BulkHeadLoad {
  private readonly run = new Run();
  private readonly maxRunBytes: number;
  private readonly shareOf: Map<number, number>;
  private done = false;
  /** Whether a run has been written: until then no key can have been loaded before (the store was empty). */
  private written = false;
  /** Heads loaded (a key loaded twice counts once). */
  loaded = 0;

  private constructor(
    private readonly db: NodeDb,
    private readonly params: StoreParams,
    private readonly shares: readonly Share[],
    options: BulkLoadOptions,
  ) {
    this.maxRunBytes = options.maxRunBytes ?? DEFAULT_MAX_RUN_BYTES;
    this.shareOf = new Map(shares.map((s, i) => [s.keyspace, i]));
  }

  /**
   * Opens the node store at `location` (created, ring-stamped and closed by its cluster, and open
   * nowhere else) for a bulk load into `vnodes`, which must hold no heads. nVal 1 only: each
   * keyspace lives on exactly one vnode (a keystore's ring).
   */
  static async open(location: string, node: string, params: StoreParams, vnodes: readonly number[], options: BulkLoadOptions = {}): Promise<BulkHeadLoad> {
    if (params.nVal !== 1) throw new TypeError('a bulk load needs nVal 1 (one vnode per keyspace)');
    const db = await NodeDb.open(node, location, { createIfMissing: false });
    try {
      const shares: Share[] = [];
      for (const vnode of [...vnodes].sort((a, b) => a - b)) {
        const prefix = kindPrefix(vnode, KIND_HEAD);
        const it = db.iterator({ gte: prefix, lt: prefixEnd(prefix) }, { values: false });
        try {
          if ((await it.nextv(1)).length > 0) throw new AaeError('INVALID_ARGUMENT', `a bulk load needs an empty store: vnode ${vnode} on ${node} holds heads`);
        } finally {
          await it.close();
        }
        for (const { keyspace } of indexNsOfVnode(vnode, params)) shares.push({ vnode, keyspace, tree: TicTacTree.create(params.treeSize), filter: KeyFilter.create() });
      }
      return new BulkHeadLoad(db, params, shares, options);
    } catch (e) {
      await db.close().catch(() => undefined);
      throw e;
    }
  }

  /** Adds a key's head (the caller validated bucket and key); a later add of the same key wins. */
  add(bucket: string, key: Uint8Array, head: BulkHead): void {
    if (this.done) throw new AaeError('STORE_CLOSED', 'the bulk load has finished');
    const r = this.run;
    // The canonical key goes straight into the arena, after the 10 bytes of prefix layout.ts puts
    // before it, and is hashed there: no key is built or copied twice.
    const prefix = bucketPrefix(bucket);
    const ckeyLength = prefix.length + key.length;
    const keyLength = HEAD_SUFFIX_START + ckeyLength;
    r.reserve(keyLength + MAX_HEAD_BYTES);
    const at = r.used;
    const arena = r.arena;
    writeKey(arena, at + HEAD_SUFFIX_START, prefix, key);
    const p = keyPlacement(arena.subarray(at + HEAD_SUFFIX_START, at + keyLength), this.params.seed);
    const keyspace = keyspaceOfHash(p.partition, this.params.ringSize);
    const s = this.shareOf.get(keyspace);
    if (s === undefined) throw new AaeError('INVALID_ARGUMENT', `keyspace ${keyspace} is not on the vnodes being loaded`);
    const share = this.shares[s]!;
    const rev = bitReverse32(p.segment32);
    arena[at] = VNODE_TAG;
    arena[at + 1] = share.vnode >>> 8;
    arena[at + 2] = share.vnode & 0xff;
    arena[at + 3] = KIND_HEAD;
    arena[at + 4] = keyspace >>> 8;
    arena[at + 5] = keyspace & 0xff;
    arena[at + 6] = rev >>> 24;
    arena[at + 7] = (rev >>> 16) & 0xff;
    arena[at + 8] = (rev >>> 8) & 0xff;
    arena[at + 9] = rev & 0xff;
    const bytes = encodeHeadView({ clock: head.clock, deleted: false, size: head.size, hash: head.hash, alt: p.alt, indexes: [] });
    if (keyLength > 0xffff || bytes.length > MAX_HEAD_BYTES) throw new AaeError('INVALID_ARGUMENT', 'a key over 64 KiB or a head over 4 KiB cannot be bulk loaded');
    arena.set(bytes, at + keyLength);
    const i = r.count++;
    r.keyOff[i] = at;
    r.keyLen[i] = keyLength;
    r.headLen[i] = bytes.length;
    r.used = at + keyLength + bytes.length;
    r.share[i] = s;
    r.segment32[i] = p.segment32;
    r.rev[i] = rev;
    r.alt[i] = p.alt;
    r.hash[i] = head.hash;
    // "Maybe": loaded by an earlier run (or a repeat in this one, or a false positive): checked at
    // flush. In the first run nothing was loaded before, and repeats meet in the sort: no filter
    // query (which cost as much as encoding the head).
    if (this.written) r.suspect[i] = share.filter.addIfAbsent(p.segment32, p.alt) ? 0 : 1;
    else {
      share.filter.add(p.segment32, p.alt);
      r.suspect[i] = 0;
    }
  }

  /** Whether the run has reached its size: the caller should `flush` before adding more. */
  get runFull(): boolean {
    return this.run.used >= this.maxRunBytes;
  }

  /** Sorts the run into key order and writes it (trees and filters take its keys). */
  async flush(): Promise<void> {
    const r = this.run;
    if (r.count === 0) return;
    const order = this.sorted();
    // In-run repeats are adjacent in `order`, earliest first: the last of each group wins (the
    // others are marked 2 and skipped). A suspect may have been loaded by an earlier run: its old
    // head's contribution leaves the tree.
    const suspects: number[] = [];
    for (let j = 0; j < order.length; j++) {
      const i = order[j]!;
      const next = order[j + 1];
      if (next !== undefined && r.rev[next] === r.rev[i] && r.share[next] === r.share[i] && this.sameKey(i, next)) r.suspect[i] = 2;
      else if (r.suspect[i] === 1) suspects.push(i);
    }
    const old = new Map<number, number>();
    if (suspects.length > 0) {
      const found = await this.db.getMany(suspects.map((i) => r.key(i).slice()));
      const h = { hash: 0, alt: 0 };
      found.forEach((b, j) => {
        if (b === undefined) return;
        readHashes(b, h);
        old.set(suspects[j]!, contribution(h.alt, h.hash));
      });
    }
    // From here on keys may have landed: later runs check the filter.
    this.written = true;
    // Two batches in flight: the next is built while LevelDB writes the last.
    let landing: Promise<void> | null = null;
    let batch = this.db.writer();
    try {
      for (let j = 0; j < order.length; j++) {
        const i = order[j]!;
        if (r.suspect[i] === 2) continue;
        batch.put(r.key(i), r.head(i));
        const tree = this.shares[r.share[i]!]!.tree;
        const c = contribution(r.alt[i]!, r.hash[i]!);
        const before = r.suspect[i] === 1 ? old.get(i) : undefined;
        if (before === undefined) {
          tree.add(r.segment32[i]!, c);
          this.loaded++;
        } else tree.alter(r.segment32[i]!, before, c);
        if (batch.length >= WRITE_BATCH) {
          const full = batch;
          batch = this.db.writer();
          const w = full.write();
          w.catch(() => undefined);
          if (landing !== null) await landing;
          landing = w;
        }
      }
      if (landing !== null) await landing;
      landing = null;
      await batch.write();
    } catch (e) {
      await landing?.catch(() => undefined);
      await batch.discard();
      throw e;
    }
    r.clear();
  }

  /** Whether entries i and j of the run hold the same key (byte for byte, in the arena). */
  private sameKey(i: number, j: number): boolean {
    const r = this.run;
    const n = r.keyLen[i]!;
    if (n !== r.keyLen[j]) return false;
    const a = r.keyOff[i]!;
    const b = r.keyOff[j]!;
    const arena = r.arena;
    for (let k = 0; k < n; k++) if (arena[a + k] !== arena[b + k]) return false;
    return true;
  }

  /**
   * The run's entries in the store's key order: a counting sort on (share, top bits of the
   * reversed segment), then each bucket (a few dozen keys) by the rest of the key, ties by the
   * order they were added.
   */
  private sorted(): Uint32Array {
    const r = this.run;
    const n = r.count;
    // Enough buckets that each holds a few dozen keys, at most 2^16 per share.
    const bits = Math.max(4, Math.min(16, Math.ceil(Math.log2(Math.max(1, n / this.shares.length / 32)))));
    const shift = 32 - bits;
    const buckets = this.shares.length << bits;
    const counts = new Uint32Array(buckets + 1);
    const bucketOf = (i: number): number => (r.share[i]! << bits) | (r.rev[i]! >>> shift);
    for (let i = 0; i < n; i++) counts[bucketOf(i) + 1]!++;
    for (let b = 0; b < buckets; b++) counts[b + 1]! += counts[b]!;
    const order = new Uint32Array(n);
    const fill = counts.slice(0, buckets);
    for (let i = 0; i < n; i++) order[fill[bucketOf(i)]!++] = i;
    const arena = r.arena;
    const byKey = (a: number, b: number): number => {
      if (r.rev[a] !== r.rev[b]) return r.rev[a]! - r.rev[b]!;
      // The rest of the key (its canonical bytes) in the arena, then the order of adding.
      const ka = r.keyOff[a]!;
      const kb = r.keyOff[b]!;
      const la = r.keyLen[a]!;
      const lb = r.keyLen[b]!;
      const m = Math.min(la, lb);
      for (let k = HEAD_SUFFIX_START; k < m; k++) {
        const d = arena[ka + k]! - arena[kb + k]!;
        if (d !== 0) return d;
      }
      return la - lb || a - b;
    };
    for (let b = 0; b < buckets; b++) {
      const lo = counts[b]!;
      const hi = counts[b + 1]!;
      if (hi - lo < 2) continue;
      if (hi - lo <= 32) {
        // Insertion sort: the usual bucket holds a few dozen keys.
        for (let x = lo + 1; x < hi; x++) {
          const v = order[x]!;
          let y = x - 1;
          while (y >= lo && byKey(order[y]!, v) > 0) {
            order[y + 1] = order[y]!;
            y--;
          }
          order[y + 1] = v;
        }
      } else order.subarray(lo, hi).sort(byKey);
    }
    return order;
  }

  /**
   * Writes what is left, then every tree and key filter as a clean close saves them (and `meta`,
   * the caller's own records) in one synced batch, and closes the store.
   */
  async finish(meta: readonly BatchOp[] = []): Promise<void> {
    await this.flush();
    this.done = true;
    const ops: BatchOp[] = [...meta];
    for (const s of this.shares) {
      ops.push({ type: 'put', key: treeKey(s.vnode, s.keyspace), value: encodeTreeRecord(s.tree) });
      ops.push({ type: 'put', key: filterKey(s.vnode, s.keyspace), value: s.filter.export() });
    }
    try {
      await this.db.batch(ops, { sync: true });
    } finally {
      await this.db.close();
    }
  }

  /** Gives up: closes the store (what was written stays; the caller removes the store). */
  async abort(): Promise<void> {
    this.done = true;
    await this.db.close();
  }
}
