import { indexNsOfVnode, validateObjectKey, type AaeObject, type IndexN, type ObjectHead } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { TicTacTree, type TreeSize } from '../tictac/index.js';
import { decodeHead, plainView, type HeadValue } from './codec.js';
import { foldHashSizes, foldHeads, foldIndex, foldKeyspaces, foldObjects, type FoldSource } from './fold.js';
import { KeyFilter } from './key-filter.js';
import { KIND_FILTER, KIND_HEAD, KIND_TREE, KIND_VALUE, builtKey, filterKey, kindPrefix, objectKey, prefixEnd, treeKey, withKind } from './layout.js';
import { locateKey, type LocatedKey, type StoreParams } from './locate.js';
import { namingNode, type BatchOp, type NodeDb } from './node-db.js';
import { TreeCache } from './tree-cache.js';
import { decodeTreeRecord, encodeTreeRecord } from './tree-persist.js';
import type {
  ClockScope,
  FoldFilter,
  FoldOptions,
  IndexEntryRecord,
  IndexFoldFilter,
  KeyClock,
  StoredHashSize,
  StoredHead,
  StoredObject,
  Vnode,
  VnodeCapabilities,
  VnodeWrite,
  WriteResult,
} from './vnode.js';
import { rebuildVnodeTrees, type RebuildTarget, type RebuildTreesOptions, type VnodeTreeCheck } from './tree-check.js';
import { decodeBuilt, encodeBuilt, foldTree, spotCheck, type BuiltRecord } from './tree-rebuild.js';
import { WriteQueue } from './write-queue.js';
import { planWrite, validateWrite, type PlannedWrite } from './write-plan.js';
import { headOf, writeStep, type WriteStepState } from './write-step.js';

/**
 * A vnode in this process, over its node's LevelDB.
 *
 * Every write goes through one WriteQueue: a flush reads the old heads of its keys (one getMany),
 * writes heads, values and index entries in one LevelDB batch, and only then alters the cached
 * trees, synchronously, before the next flush starts. So a tree always describes exactly the data
 * of the flushes that completed, whatever the concurrency of the callers.
 *
 * Trees live in a TreeCache. The trees saved by the last clean close are read when the vnode first
 * needs them (its first write, tree query or clock read), and deleted from the store then, before
 * any write; a keyspace without a restorable tree is rebuilt from its heads, inside the queue,
 * before the first tree query that needs it.
 *
 * Each keyspace with a current tree also has a KeyFilter (key-filter.ts) of the keys written into
 * it, with the same lifecycle (saved on clean close, read and deleted with the trees, rebuilt with
 * the tree): a write to a key the filter has never seen needs no read of its old head.
 */

/** Ops per flush: one LevelDB batch of up to ~4 records per op stays a few MiB at most. */
const MAX_FLUSH_OPS = 10_000;
const EMPTY = new Uint8Array(0);
/**
 * Where a keyspace's tree came from: `empty` (a new store), `restored` (saved by a clean close),
 * `rebuilt` (from the heads, after it was missing), `missing` (not yet rebuilt; `reason` says why),
 * or `unread` (the vnode has not needed its trees since it opened: see LocalVnode.open).
 */
export type TreeOrigin = 'empty' | 'restored' | 'rebuilt' | 'missing' | 'unread';
export interface TreeState {
  keyspace: number;
  origin: TreeOrigin;
  /** Why the saved tree could not be used (absent for a new store or a restored tree). */
  reason?: string;
}

export class LocalVnode implements Vnode {
  readonly indexNs: readonly IndexN[];
  readonly treeSize: TreeSize;
  readonly capabilities: VnodeCapabilities = { treeCache: true, headFold: true, hashSizeFold: true, objectFold: true, indexFold: true, writes: true };
  private readonly cache: TreeCache;
  private readonly queue: WriteQueue<PlannedWrite, WriteResult>;
  private readonly held: number[];
  private readonly origins = new Map<number, { origin: TreeOrigin; reason?: string }>();
  /** The rebuild in progress (rebuildTrees runs one at a time per vnode). */
  private rebuilding: Promise<void> = Promise.resolve();
  /** The filters and write generation the write step shares with the reads (write-step.ts). */
  private readonly state: WriteStepState;
  private closed = false;
  /** The saved trees and filters have been read (and deleted from the store), or there were none to read. */
  private loaded = false;

  private constructor(
    private readonly db: NodeDb,
    readonly id: number,
    private readonly params: StoreParams,
  ) {
    this.indexNs = indexNsOfVnode(id, params);
    this.held = this.indexNs.map((n) => n.keyspace);
    this.treeSize = params.treeSize;
    this.cache = new TreeCache(params.treeSize, this.held);
    this.state = { db, vnode: id, params, cache: this.cache, filters: new Map(), generation: 0 };
    this.queue = new WriteQueue((ops) => this.flush(ops), MAX_FLUSH_OPS);
  }

  get node(): string {
    return this.db.node;
  }

  /**
   * Opens a vnode. `fresh`: the store was just created, so every tree is empty and current.
   * Otherwise the trees saved by the last clean close are read only when first needed: before the
   * first write, tree query or clock read (`load`, in queue order), and deleted from the store
   * then, before any write. So a session that only reads objects (`aae get`) costs no tree memory
   * and leaves the saved trees in place, still valid, while the first write still makes a later
   * crash rebuild them.
   */
  static async open(db: NodeDb, id: number, params: StoreParams, options: { fresh?: boolean } = {}): Promise<LocalVnode> {
    const v = new LocalVnode(db, id, params);
    if (options.fresh === true) {
      for (const k of v.held) {
        v.cache.set(k, TicTacTree.create(v.treeSize));
        v.state.filters.set(k, KeyFilter.create());
        v.origins.set(k, { origin: 'empty' });
      }
      v.loaded = true;
      // Empty trees of a new store are exact: they count as built from the (no) heads.
      await v.writeBuilt(false);
    }
    return v;
  }

  /** Reads the saved trees and filters if not yet done (called in queue order: by a flush, or inside `exclusive`). */
  private async load(): Promise<void> {
    if (this.loaded) return;
    await this.restoreTrees();
    this.loaded = true;
    // A store older than the rebuild record: count its trees as built now (the schedule starts here).
    if ((await this.builtRecord()) === undefined) await this.writeBuilt(false);
  }

  private async restoreTrees(): Promise<void> {
    const found = await this.savedRecords(KIND_TREE);
    const savedFilters = await this.savedRecords(KIND_FILTER);
    let contradicted: number | undefined;
    for (const keyspace of this.held) {
      this.state.filters.set(keyspace, null);
      const bytes = found.get(keyspace);
      if (bytes === undefined) {
        this.origins.set(keyspace, { origin: 'missing', reason: this.db.recoveryLoss ?? 'no saved tree (no clean close)' });
        continue;
      }
      const r = decodeTreeRecord(bytes, this.treeSize);
      const wrong = r.ok ? await spotCheck(this.db, this.id, keyspace, r.tree) : undefined;
      if (wrong !== undefined) {
        contradicted ??= keyspace;
        this.origins.set(keyspace, { origin: 'missing', reason: `the saved tree disagrees with the heads of segment ${wrong} (spot check): the store changed under it` });
      } else if (r.ok) {
        this.cache.set(keyspace, r.tree);
        this.origins.set(keyspace, { origin: 'restored' });
        // A filter is sound only with its tree: both were saved by the same clean close.
        const f = savedFilters.get(keyspace);
        const restored = f === undefined ? null : KeyFilter.import(f);
        if (restored !== null && restored.ok) this.state.filters.set(keyspace, restored.filter);
      } else {
        this.origins.set(keyspace, { origin: 'missing', reason: r.reason });
      }
    }
    // One keyspace's tree contradicted by its heads: the store changed under the saved trees, and
    // the others of this vnode are not trusted either (a sample can miss what a rebuild cannot).
    if (contradicted !== undefined) {
      this.cache.invalidate();
      for (const k of this.held) {
        this.state.filters.set(k, null);
        if (this.origins.get(k)?.origin === 'restored') this.origins.set(k, { origin: 'missing', reason: `the saved tree of keyspace ${contradicted} of this vnode failed its spot check` });
      }
    }
    // Delete before any write (sync, so it is durable): a crash from here on must rebuild.
    const dels = [...found.keys()].map((k) => ({ type: 'del' as const, key: treeKey(this.id, k) }));
    for (const k of savedFilters.keys()) dels.push({ type: 'del', key: filterKey(this.id, k) });
    await this.db.batch(dels, { sync: true });
  }

  /** The saved records of one kind (trees or filters), by keyspace. */
  private async savedRecords(kind: typeof KIND_TREE | typeof KIND_FILTER): Promise<Map<number, Uint8Array>> {
    const prefix = kindPrefix(this.id, kind);
    const found = new Map<number, Uint8Array>();
    const it = this.db.iterator({ gte: prefix, lt: prefixEnd(prefix) });
    try {
      for (;;) {
        const entries = await it.nextv(64);
        if (entries.length === 0) break;
        for (const [k, v] of entries) found.set((k[4]! << 8) | k[5]!, v);
      }
    } finally {
      await it.close();
    }
    return found;
  }

  /** Reads the saved trees and filters now, if the vnode has not needed them yet (diagnostics and tests). */
  async loadTrees(): Promise<void> {
    this.checkOpen();
    await this.queue.exclusive(() => this.load());
  }

  /** Where each keyspace's tree stands (for diagnostics and tests). */
  treeStates(): TreeState[] {
    return this.held.map((keyspace) => {
      const o = this.loaded ? (this.origins.get(keyspace) ?? { origin: 'missing' }) : { origin: 'unread' as const };
      return o.reason === undefined ? { keyspace, origin: o.origin } : { keyspace, origin: o.origin, reason: o.reason };
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new AaeError('STORE_CLOSED', `vnode ${this.id} is closed`);
  }

  /** A head read from the store; one that does not decode is STORE_IO naming the node. */
  private decode(bytes: Uint8Array): HeadValue {
    try {
      return decodeHead(bytes);
    } catch (e) {
      throw namingNode(e, this.node);
    }
  }

  // ---- writes ----

  /** Bad input (a key, clock, value or index entry) rejects the whole call before anything is queued. */
  async write(writes: readonly VnodeWrite[]): Promise<WriteResult[]> {
    this.checkOpen();
    const plans: PlannedWrite[] = writes.map((w) => {
      validateWrite(w);
      return planWrite(w, w.kind === 'put' ? this.locate(w.object.bucket, w.object.key) : this.locate(w.bucket, w.key), undefined, undefined);
    });
    return this.queue.push(plans);
  }

  /**
   * Writes whose keys the caller has located (and validated), optionally with the new head already
   * encoded and the old head already read (see readHeads). The embedded cluster writes this way so
   * that a key is hashed, encoded and read once, not once per replica.
   * @internal
   */
  writePlanned(plans: readonly PlannedWrite[]): Promise<WriteResult[]> {
    this.checkOpen();
    for (const p of plans) {
      if (!this.cache.holds(p.hint.loc.keyspace)) {
        throw new AaeError('INVALID_ARGUMENT', `vnode ${this.id} does not hold keyspace ${p.hint.loc.keyspace}`);
      }
    }
    return this.queue.push(plans);
  }

  /**
   * The current heads of located keys, stamped with the vnode's write generation: a write planned
   * on these heads skips its own read if no flush has landed since.
   * @internal
   */
  async readHeads(locs: readonly LocatedKey[]): Promise<{ generation: number; heads: Array<HeadValue | null> }> {
    this.checkOpen();
    if (!this.loaded) await this.queue.exclusive(() => this.load()); // the filters skip reads
    const generation = this.state.generation; // taken before the read: a flush landing during it invalidates the basis
    const heads: Array<HeadValue | null> = new Array<HeadValue | null>(locs.length).fill(null);
    // Keys the filter has never seen have no head: only the others are read.
    const read: number[] = [];
    for (let i = 0; i < locs.length; i++) {
      const l = locs[i]!;
      const f = this.state.filters.get(l.keyspace);
      if (f === undefined || f === null || f.mayContain(l.segment32, l.alt)) read.push(i);
    }
    const raw = await this.db.getMany(read.map((i) => objectKey(this.id, KIND_HEAD, locs[i]!.keyspace, locs[i]!.segment32, locs[i]!.ckey)));
    raw.forEach((b, j) => {
      if (b !== undefined) heads[read[j]!] = this.decode(b);
    });
    return { generation, heads };
  }

  /** Resolves when every queued write is applied. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private locate(bucket: string, key: Uint8Array): LocatedKey {
    const loc = locateKey(bucket, key, this.params);
    if (!this.cache.holds(loc.keyspace)) {
      throw new AaeError('INVALID_ARGUMENT', `vnode ${this.id} does not hold keyspace ${loc.keyspace} (it holds ${this.held.join(', ')})`);
    }
    return loc;
  }

  private async flush(plans: PlannedWrite[]): Promise<WriteResult[]> {
    if (this.closed) throw new AaeError('STORE_CLOSED', `vnode ${this.id} is closed`);
    await this.load(); // before the first write: the saved trees leave the store
    return writeStep(this.state, plans);
  }

  // ---- reads ----

  async getHead(bucket: string, key: Uint8Array): Promise<ObjectHead | null> {
    this.checkOpen();
    validateObjectKey({ bucket, key });
    const loc = this.locate(bucket, key);
    const b = await this.db.get(objectKey(this.id, KIND_HEAD, loc.keyspace, loc.segment32, loc.ckey));
    return b === undefined ? null : headOf(loc, this.decode(b));
  }

  /** Reads several heads in one getMany (null where absent). Keys must belong to this vnode. */
  async getHeads(keys: ReadonlyArray<{ bucket: string; key: Uint8Array }>): Promise<Array<ObjectHead | null>> {
    this.checkOpen();
    const locs = keys.map((k) => this.locate(k.bucket, k.key));
    const raw = await this.db.getMany(locs.map((l) => objectKey(this.id, KIND_HEAD, l.keyspace, l.segment32, l.ckey)));
    return raw.map((b, i) => (b === undefined ? null : headOf(locs[i]!, this.decode(b))));
  }

  /** Reads several whole objects (heads and values) in one getMany (null where absent). */
  async getMany(keys: ReadonlyArray<{ bucket: string; key: Uint8Array }>): Promise<Array<AaeObject | null>> {
    return (await this.readObjects(keys)).map((r) => (r === null ? null : r.object));
  }

  /** As getMany, each object with the object hash its head stores (what the trees were built from). */
  async readObjects(keys: ReadonlyArray<{ bucket: string; key: Uint8Array }>, located?: readonly LocatedKey[]): Promise<Array<{ object: AaeObject; hash: number } | null>> {
    this.checkOpen();
    const locs =
      located ??
      keys.map((k) => {
        validateObjectKey(k);
        return this.locate(k.bucket, k.key);
      });
    const wanted: Uint8Array[] = [];
    for (const l of locs) {
      const hk = objectKey(this.id, KIND_HEAD, l.keyspace, l.segment32, l.ckey);
      wanted.push(hk, withKind(hk, KIND_VALUE));
    }
    const raw = await this.db.getMany(wanted);
    return locs.map((l, i) => {
      const hb = raw[2 * i];
      if (hb === undefined) return null;
      const h = this.decode(hb);
      const vb = raw[2 * i + 1];
      if (!h.deleted && vb === undefined) throw new AaeError('STORE_IO', `node ${this.node}, vnode ${this.id}: the value of a live head is missing`);
      return { object: { bucket: l.bucket, key: l.key, clock: h.clock, value: h.deleted ? EMPTY : plainView(vb!), deleted: h.deleted, indexes: h.indexes }, hash: h.hash };
    });
  }

  async get(bucket: string, key: Uint8Array): Promise<AaeObject | null> {
    this.checkOpen();
    validateObjectKey({ bucket, key });
    const loc = this.locate(bucket, key);
    const hk = objectKey(this.id, KIND_HEAD, loc.keyspace, loc.segment32, loc.ckey);
    const [hb, vb] = await this.db.getMany([hk, withKind(hk, KIND_VALUE)]);
    if (hb === undefined) return null;
    const h = this.decode(hb);
    if (!h.deleted && vb === undefined) throw new AaeError('STORE_IO', `node ${this.node}, vnode ${this.id}: the value of a live head is missing`);
    return { bucket, key, clock: h.clock, value: h.deleted ? EMPTY : plainView(vb!), deleted: h.deleted, indexes: h.indexes };
  }

  // ---- folds ----

  private source(): FoldSource {
    this.checkOpen();
    return { db: this.db, vnode: this.id, held: this.held };
  }

  foldHeads(filter: FoldFilter, options: FoldOptions = {}): AsyncIterable<readonly StoredHead[]> {
    return foldHeads(this.source(), filter, options);
  }

  foldHashSizes(filter: FoldFilter, options: FoldOptions = {}): AsyncIterable<readonly StoredHashSize[]> {
    return foldHashSizes(this.source(), filter, options);
  }

  foldObjects(filter: FoldFilter, options: FoldOptions = {}): AsyncIterable<readonly StoredObject[]> {
    return foldObjects(this.source(), filter, options);
  }

  foldIndex(filter: IndexFoldFilter, options: FoldOptions = {}): AsyncIterable<readonly IndexEntryRecord[]> {
    return foldIndex(this.source(), filter, options);
  }

  async fetchClocks(scope: ClockScope, segments: readonly number[], treeSize: TreeSize, options: FoldOptions = {}): Promise<KeyClock[]> {
    const keyspaces = 'indexN' in scope ? [this.keyspaceOfIndexN(scope.indexN)] : [...scope.keyspaces];
    const out: KeyClock[] = [];
    if (segments.length === 0) return out;
    const collect = async (ks: number[], ids: readonly number[]): Promise<void> => {
      for await (const batch of this.foldHeads({ keyspaces: ks, segments: { ids, treeSize } }, options)) {
        for (const h of batch) out.push({ bucket: h.bucket, key: h.key, clock: h.clock, deleted: h.deleted, hash: h.hash });
      }
    };
    if (treeSize !== this.treeSize) {
      await collect(keyspaces, segments);
      return out;
    }
    // The cached tree says which segments hold keys: a leaf is zero when its segment is empty (or,
    // by a 2^-32 accident, when its keys' contributions cancel — the same blind spot the exchange
    // itself has). Seeking only non-empty leaves turns the clocks of 1,000 sparse segments from
    // thousands of empty seeks (each ~25 µs) into a handful.
    for (const keyspace of keyspaces) {
      const tree = await this.currentTree({ keyspace, nVal: this.params.nVal });
      const live = segments.filter((s) => tree.getSegment(s) !== 0);
      if (live.length > 0) await collect([keyspace], live);
    }
    return out;
  }

  // ---- trees ----

  private keyspaceOfIndexN(indexN: IndexN): number {
    if (indexN.nVal !== this.params.nVal || !this.cache.holds(indexN.keyspace)) {
      throw new AaeError('INVALID_ARGUMENT', `vnode ${this.id} holds no IndexN (${indexN.keyspace}, ${indexN.nVal})`);
    }
    return indexN.keyspace;
  }

  /** The current tree of an IndexN, rebuilding every missing tree of the vnode first (in queue order). */
  private async currentTree(indexN: IndexN): Promise<TicTacTree> {
    this.checkOpen();
    const keyspace = this.keyspaceOfIndexN(indexN);
    let tree = this.loaded ? this.cache.get(keyspace) : null;
    if (tree === null) {
      await this.queue.exclusive(async () => {
        await this.load();
        await this.rebuildMissing();
      });
      tree = this.cache.get(keyspace);
    }
    if (tree === null) throw new AaeError('INTERNAL', `vnode ${this.id}: tree of keyspace ${keyspace} missing after rebuild`);
    return tree;
  }

  async fetchRoot(indexN: IndexN): Promise<Uint32Array> {
    return (await this.currentTree(indexN)).root();
  }

  async fetchBranches(indexN: IndexN, ids: readonly number[]): Promise<Map<number, Uint32Array>> {
    return (await this.currentTree(indexN)).branches(ids);
  }

  async xorWordsInto(indexN: IndexN, width: number, ids: readonly number[], out: Uint32Array): Promise<void> {
    (await this.currentTree(indexN)).xorWordsInto(width, ids, out);
  }

  async fetchTree(indexN: IndexN): Promise<TicTacTree> {
    return (await this.currentTree(indexN)).clone();
  }

  /** Rebuilds every missing tree from the heads. Runs inside the queue: no write interleaves. */
  private async rebuildMissing(): Promise<void> {
    const missing = this.cache.missing();
    for (const keyspace of missing) {
      const filter = KeyFilter.create();
      this.cache.set(keyspace, await this.treeFromHeads(keyspace, {}, filter));
      this.state.filters.set(keyspace, filter);
      const reason = this.origins.get(keyspace)?.reason;
      this.origins.set(keyspace, reason === undefined ? { origin: 'rebuilt' } : { origin: 'rebuilt', reason });
    }
    // Every tree built from the heads just now (after a crash): the schedule starts again.
    if (missing.length > 0 && missing.length === this.held.length) await this.writeBuilt(true);
  }

  /** A tree built from scratch from one keyspace's heads (reads no values); `filter`, if given, gets every key. */
  async treeFromHeads(keyspace: number, options: FoldOptions = {}, filter?: KeyFilter): Promise<TicTacTree> {
    foldKeyspaces(this.held, [keyspace]);
    return foldTree(this.db, this.id, keyspace, this.treeSize, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(filter === undefined ? {} : { filter }),
    });
  }

  // ---- verification and scheduled rebuilds (tree-check.ts) ----

  /**
   * Builds every tree of the vnode from its heads beside the cached ones, throttled, while the
   * vnode goes on writing and answering from the cached trees; says which keyspaces differed and,
   * with `replace`, swaps the rebuilt trees in. See tree-check.ts.
   */
  rebuildTrees(options: RebuildTreesOptions = {}): Promise<VnodeTreeCheck> {
    this.checkOpen();
    const run = this.rebuilding.then(() => rebuildVnodeTrees(this.rebuildTarget(), options));
    this.rebuilding = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** When the vnode's trees were last built from its heads (undefined: no record yet). */
  async builtRecord(): Promise<BuiltRecord | undefined> {
    this.checkOpen();
    const bytes = await this.db.get(builtKey(this.id));
    return bytes === undefined ? undefined : decodeBuilt(bytes);
  }

  /** Records that every tree was built from the heads now, with a new random share of the delay. */
  private async writeBuilt(sync: boolean): Promise<void> {
    await this.db.batch([{ type: 'put', key: builtKey(this.id), value: encodeBuilt({ builtAt: Date.now(), jitter: Math.random() }) }], { sync });
  }

  private rebuildTarget(): RebuildTarget {
    return {
      db: this.db,
      vnode: this.id,
      treeSize: this.treeSize,
      keyspaces: this.held,
      cache: this.cache,
      exclusive: (fn) =>
        this.queue.exclusive(async () => {
          this.checkOpen();
          return fn();
        }),
      current: async () => {
        await this.load();
        await this.rebuildMissing();
      },
      replaced: (keyspace, reason) => this.origins.set(keyspace, { origin: 'rebuilt', reason }),
      learnKeys: (keyspace, rebuilt) => {
        // A filter that is unknown (null) stays unknown: every key is read anyway.
        const live = this.state.filters.get(keyspace);
        if (live !== undefined && live !== null) this.state.filters.set(keyspace, KeyFilter.union(live, rebuilt));
      },
      built: () => this.writeBuilt(true),
    };
  }

  /**
   * Closes the vnode after every queued write. With saveTrees (the default), its current trees are
   * saved (sync) for the next open; without, the next open rebuilds them (as after a crash).
   */
  async close(options: { saveTrees?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    await this.queue.exclusive(async () => {
      // Never loaded: what the store holds was saved by the last clean close and nothing has changed
      // since, so it stays as it is; without saveTrees it goes (the next open rebuilds, as promised).
      if (!this.loaded && options.saveTrees !== false) {
        this.closed = true;
        return;
      }
      await this.load();
      this.closed = true;
      if (options.saveTrees === false) return;
      const batch: BatchOp[] = [];
      for (const keyspace of this.held) {
        const tree = this.cache.get(keyspace);
        if (tree === null) continue;
        batch.push({ type: 'put', key: treeKey(this.id, keyspace), value: encodeTreeRecord(tree) });
        const filter = this.state.filters.get(keyspace);
        if (filter !== undefined && filter !== null) batch.push({ type: 'put', key: filterKey(this.id, keyspace), value: filter.export() });
      }
      await this.db.batch(batch, { sync: true });
    });
  }
}
