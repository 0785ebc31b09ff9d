import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CLUSTER_SPEC_FILE,
  claim,
  dominantObject,
  dominates,
  keyToBytes,
  preflist,
  readClusterSpec,
  validateObjectKey,
  type AaeObject,
  type Claim,
  type Clock,
  type ClusterSpec,
  type ObjectHead,
} from '../cluster/index.js';
import { AaeError, throwIfAborted } from '../errors.js';
import { initHash } from '../hash/index.js';
import { planFlush, prepareItem, type PreparedPut, type PutItem } from './cluster-write.js';
import { LocalVnode } from './local-vnode.js';
import { locateKey, type StoreParams } from './locate.js';
import { createClusterDir } from './create-cluster.js';
import { prepareNode } from './open-node.js';
import { NodeDb } from './node-db.js';
import { WriteQueue } from './write-queue.js';

/**
 * An embedded cluster: a directory holding `cluster.json` and one LevelDB folder per node (named
 * after the node), all opened in this process. Vnodes are dealt to nodes by `claim`; every vnode is
 * a LocalVnode over its owner's LevelDB.
 *
 * A write goes to every vnode of the key's preflist (or the first `replicas` of them, to make
 * replica drift on purpose). A write with a clock stores that clock exactly (repair copies objects
 * this way); a write without one makes a new version: the clocks all replicas hold are merged and
 * incremented by the cluster's actor (its name). Cluster writes pass through one batching queue,
 * so two concurrent clockless writes to one key never mint the same clock; each vnode then applies
 * its share through its own queue, which keeps its trees current.
 *
 * The cluster queue pipelines: once a flush has handed its writes to the vnode queues (which keep
 * them in order) the next flush starts, so hashing and encoding the next batch overlaps LevelDB
 * writing this one. A flush that must read heads (clockless items) first waits until every earlier
 * flush has landed, so the clocks it merges are the latest.
 */

export interface ReplicaVersion {
  vnode: number;
  node: string;
  object: AaeObject | null;
}

export interface ReplicaHead {
  vnode: number;
  node: string;
  /** null: the replica lacks the key; undefined: not read (the caller's skipVnode). */
  head: ObjectHead | null | undefined;
}

export interface PutManyOptions {
  signal?: AbortSignal;
  /**
   * Called after every batch lands, with the running count of objects written (landed), and how
   * many items from the start of the input have all landed. The two differ only after a failure:
   * a batch behind a failed one may still land, so `written` counts it and `prefix` does not.
   */
  onProgress?: (p: { written: number; prefix: number }) => void;
  /** Items per cluster batch. */
  batchSize?: number;
}

export interface CloseOptions {
  /** Save the cached trees for the next open (default true). false: the next open rebuilds them, as after a crash. */
  saveTrees?: boolean;
}

/**
 * Items per putMany batch: each becomes one cluster flush and, per vnode, one getMany and one
 * LevelDB batch; 5000 amortises those calls while a batch's records stay a few MiB.
 */
const DEFAULT_PUT_BATCH = 5000;
/** A single flush of the cluster queue takes at most this many items. */
const MAX_CLUSTER_FLUSH = 20_000;
/** Cluster flushes unfinished at once: one landing while the next is prepared. */
const CLUSTER_PIPELINE_DEPTH = 2;

export class EmbeddedCluster {
  private readonly queue: WriteQueue<PreparedPut, AaeObject>;
  /** Each keyspace's preflist (the ring is fixed): computed once, not once per write. */
  private readonly preflists: ReadonlyArray<readonly number[]>;
  /** Flushes handed to the vnode queues and not yet landed (each settles, never rejects). */
  private readonly landing = new Set<Promise<void>>();
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly spec: ClusterSpec,
    readonly claim: Claim,
    private readonly dbs: ReadonlyMap<string, NodeDb>,
    private readonly vnodeList: readonly LocalVnode[],
  ) {
    this.queue = new WriteQueue((items, release) => this.flush(items, release), MAX_CLUSTER_FLUSH, CLUSTER_PIPELINE_DEPTH);
    this.preflists = Array.from({ length: spec.ringSize }, (_, k) => preflist(k, spec));
  }

  /**
   * Creates the directory (if needed), cluster.json and every node's LevelDB, so that a crash
   * leaves a whole cluster or none (create-cluster.ts); returns the open cluster.
   */
  static async create(dir: string, spec: ClusterSpec): Promise<EmbeddedCluster> {
    await createClusterDir(dir, spec, async (at, valid) => EmbeddedCluster.openWith(at, valid, true).then((c) => c.close()));
    return EmbeddedCluster.open(dir);
  }

  /** Opens an existing cluster: CLUSTER_NOT_FOUND without cluster.json, STORE_LOCKED if another process has it open. */
  static async open(dir: string): Promise<EmbeddedCluster> {
    const spec = await readClusterSpec(dir);
    return EmbeddedCluster.openWith(dir, spec, false);
  }

  private static async openWith(dir: string, spec: ClusterSpec, create: boolean): Promise<EmbeddedCluster> {
    await initHash();
    const c = claim(spec.ringSize, spec.nodes, spec.nVal);
    const dbs = new Map<string, NodeDb>();
    /** Nodes whose store this call created: their vnodes start with empty, current trees. */
    const fresh = new Set<string>();
    try {
      for (const node of spec.nodes) {
        const location = join(dir, node);
        const existed = await exists(location);
        if (!create && !existed) {
          throw new AaeError('STORE_IO', `cluster at ${dir}: node ${node} has no store (${location} is missing)`);
        }
        if (!existed) fresh.add(node);
        const db = await NodeDb.open(node, location, { createIfMissing: create });
        dbs.set(node, db);
        const held = c.owners.flatMap((owner, v) => (owner === node ? [v] : []));
        await prepareNode(db, spec, held, { specFile: join(dir, CLUSTER_SPEC_FILE), creating: create });
      }
      const params: StoreParams = spec;
      const vnodes: LocalVnode[] = [];
      for (let v = 0; v < spec.ringSize; v++) {
        const owner = c.owners[v]!;
        vnodes.push(await LocalVnode.open(dbs.get(owner)!, v, params, { fresh: fresh.has(owner) }));
      }
      return new EmbeddedCluster(dir, spec, c, dbs, vnodes);
    } catch (e) {
      for (const db of dbs.values()) await db.close().catch(() => undefined);
      // The node folders this call made hold nothing yet: a refused create removes them.
      if (create) for (const node of fresh) await rm(join(dir, node), { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
  }

  /** vnode → owning node. */
  get owners(): readonly string[] {
    return this.claim.owners;
  }

  vnodes(): readonly LocalVnode[] {
    return this.vnodeList;
  }

  vnode(id: number): LocalVnode {
    const v = this.vnodeList[id];
    if (v === undefined) throw new AaeError('INVALID_ARGUMENT', `no vnode ${id} in a ring of ${this.spec.ringSize}`);
    return v;
  }

  /** The raw LevelDB of a node (benchmarks and tools; writes must go through vnodes). */
  nodeDb(node: string): NodeDb {
    const db = this.dbs.get(node);
    if (db === undefined) throw new AaeError('INVALID_ARGUMENT', `no node '${node}' in cluster ${this.spec.name}`);
    return db;
  }

  /** The vnodes holding (bucket, key), in preflist order. */
  preflistOf(bucket: string, key: string | Uint8Array): LocalVnode[] {
    const k = keyToBytes(key);
    validateObjectKey({ bucket, key: k });
    const loc = locateKey(bucket, k, this.spec);
    return preflist(loc.keyspace, this.spec).map((v) => this.vnodeList[v]!);
  }

  private checkOpen(): void {
    if (this.closed) throw new AaeError('STORE_CLOSED', `cluster ${this.spec.name} is closed`);
  }

  /** Writes one object (see PutItem); returns what was stored, with its clock. */
  async put(item: PutItem): Promise<AaeObject> {
    this.checkOpen();
    const [obj] = await this.queue.push([prepareItem(item, this.spec)]);
    return obj!;
  }

  /** Writes a tombstone: a new version (or the given clock) marked deleted. */
  async delete(bucket: string, key: string | Uint8Array, options: { clock?: Clock; replicas?: number; lastModified?: number } = {}): Promise<AaeObject> {
    return this.put({ bucket, key, deleted: true, ...options });
  }

  /**
   * Writes many objects in batches (each one cluster flush, two in flight). Items are validated
   * batch by batch: a bad item fails its batch and the call; earlier batches stay written. A
   * failure is thrown once every batch in flight has settled; the last progress count is then the
   * objects of every batch that landed (not always a prefix of the input: the batch after a
   * failed one may have landed).
   */
  async putMany(items: Iterable<PutItem> | AsyncIterable<PutItem>, options: PutManyOptions = {}): Promise<{ written: number }> {
    this.checkOpen();
    const size = options.batchSize ?? DEFAULT_PUT_BATCH;
    let written = 0;
    let prefix = 0;
    let failed = false;
    let batch: PreparedPut[] = [];
    // Up to CLUSTER_PIPELINE_DEPTH batches in flight: the next is validated and queued while the
    // last lands. `written` counts landed batches only, in order.
    const inFlight: Array<{ count: number; done: Promise<unknown> }> = [];
    const landed = (count: number): void => {
      written += count;
      if (!failed) prefix += count;
      options.onProgress?.({ written, prefix });
    };
    const land = async (): Promise<void> => {
      const first = inFlight.shift()!;
      try {
        await first.done;
      } catch (e) {
        failed = true;
        throw e;
      }
      landed(first.count);
    };
    const send = async (): Promise<void> => {
      throwIfAborted(options.signal);
      const done = this.queue.push(batch);
      // Awaited later (land, or the catch below); until then its failure must not be unhandled.
      done.catch(() => undefined);
      inFlight.push({ count: batch.length, done });
      batch = [];
      if (inFlight.length >= CLUSTER_PIPELINE_DEPTH) await land();
    };
    try {
      if (Symbol.iterator in items) {
        // Not `for await`: over a sync iterable it costs a promise and a result object per item.
        for (const item of items) {
          batch.push(prepareItem(item, this.spec));
          if (batch.length >= size) await send();
        }
      } else {
        for await (const item of items) {
          batch.push(prepareItem(item, this.spec));
          if (batch.length >= size) await send();
        }
      }
      if (batch.length > 0) await send();
      while (inFlight.length > 0) await land();
    } catch (e) {
      // Let every batch already queued settle, and count those that landed, before failing.
      for (const f of inFlight.splice(0)) {
        try {
          await f.done;
          landed(f.count);
        } catch {
          // the same failure, or one after it: the first is the one reported
          failed = true;
        }
      }
      throw e;
    }
    return { written };
  }

  /** Each preflist replica's version (null where it has none), in preflist order. */
  async getReplicas(bucket: string, key: string | Uint8Array): Promise<ReplicaVersion[]> {
    this.checkOpen();
    const k = keyToBytes(key);
    const vnodes = this.preflistOf(bucket, k);
    const objects = await Promise.all(vnodes.map((v) => v.get(bucket, k)));
    return vnodes.map((v, i) => ({ vnode: v.id, node: v.node, object: objects[i]! }));
  }

  /** getReplicas for many keys at once: for each key, each preflist replica's version, in preflist order. */
  async readReplicas(keys: ReadonlyArray<{ bucket: string; key: Uint8Array }>, options: { signal?: AbortSignal } = {}): Promise<ReplicaVersion[][]> {
    const read = await this.perReplica(keys, options, (vnode, ks) => vnode.getMany(ks));
    return read.map((replicas) => replicas.map(({ vnode, node, found }) => ({ vnode, node, object: found })));
  }

  /**
   * As readReplicas, heads only (no value is read): each preflist replica's head, in order. A key
   * may name a vnode not to read (`skipVnode`: the caller already holds its version); its entry
   * then comes back with `head: undefined`.
   */
  async readReplicaHeads(
    keys: ReadonlyArray<{ bucket: string; key: Uint8Array; skipVnode?: number }>,
    options: { signal?: AbortSignal } = {},
  ): Promise<ReplicaHead[][]> {
    const read = await this.perReplica(keys, options, (vnode, ks) => vnode.getHeads(ks));
    return read.map((replicas) => replicas.map(({ vnode, node, found, skipped }) => ({ vnode, node, head: skipped ? undefined : found })));
  }

  /** One read per vnode for the whole batch, not one small read per key and replica. */
  private async perReplica<T>(
    keys: ReadonlyArray<{ bucket: string; key: Uint8Array; skipVnode?: number }>,
    options: { signal?: AbortSignal },
    read: (vnode: LocalVnode, keys: ReadonlyArray<{ bucket: string; key: Uint8Array }>) => Promise<Array<T | null>>,
  ): Promise<Array<Array<{ vnode: number; node: string; found: T | null; skipped: boolean }>>> {
    this.checkOpen();
    throwIfAborted(options.signal);
    const pref = keys.map((k) => this.preflistOf(k.bucket, k.key));
    const perVnode = new Map<number, Array<{ item: number; slot: number }>>();
    pref.forEach((vnodes, item) =>
      vnodes.forEach((v, slot) => {
        if (v.id === keys[item]!.skipVnode) return;
        let list = perVnode.get(v.id);
        if (list === undefined) perVnode.set(v.id, (list = []));
        list.push({ item, slot });
      }),
    );
    const out = pref.map((vnodes, item) => vnodes.map((v) => ({ vnode: v.id, node: v.node, found: null as T | null, skipped: v.id === keys[item]!.skipVnode })));
    await Promise.all(
      [...perVnode].map(async ([v, list]) => {
        const found = await read(this.vnode(v), list.map(({ item }) => keys[item]!));
        list.forEach(({ item, slot }, j) => {
          out[item]![slot]!.found = found[j]!;
        });
      }),
    );
    return out;
  }

  /**
   * Repair's write: each object, keeping its clock, to the given vnodes (default: its preflist),
   * each only if the object dominates what that vnode holds at that moment (or the vnode lacks
   * the key). The check and the write are one step of the vnode's write queue, so a write that
   * lands meanwhile is never overwritten. One outcome per vnode, in order.
   */
  async writeIfDominates(items: ReadonlyArray<{ object: AaeObject; vnodes?: readonly number[] }>): Promise<Array<Array<'written' | 'skipped'>>> {
    this.checkOpen();
    const perVnode = new Map<number, Array<{ item: number; slot: number }>>();
    const targets = items.map((it, i) => {
      validateObjectKey(it.object);
      const vnodes = it.vnodes ?? this.preflistOf(it.object.bucket, it.object.key).map((v) => v.id);
      vnodes.forEach((v, slot) => {
        let list = perVnode.get(v);
        if (list === undefined) perVnode.set(v, (list = []));
        list.push({ item: i, slot });
      });
      return vnodes;
    });
    const out = targets.map((vs) => vs.map((): 'written' | 'skipped' => 'skipped'));
    await Promise.all(
      [...perVnode].map(async ([v, list]) => {
        const olds = await this.vnode(v).write(list.map(({ item }) => ({ kind: 'put' as const, object: items[item]!.object, ifDominates: true })));
        list.forEach(({ item, slot }, j) => {
          const old = olds[j]!;
          // The vnode decided against exactly this head: the outcome follows from it.
          out[item]![slot] = old === null || dominates(items[item]!.object.clock, old.clock) ? 'written' : 'skipped';
        });
      }),
    );
    return out;
  }

  /**
   * The replicas' dominant version (a tombstone comes back with deleted: true), or null when no
   * replica has the key. Concurrent versions (none dominates): the latest lastModified wins, as
   * repair's lww policy decides; getReplicas shows them all.
   */
  async get(bucket: string, key: string | Uint8Array): Promise<AaeObject | null> {
    const replicas = await this.getReplicas(bucket, key);
    return dominantObject(replicas.map((r) => r.object));
  }

  /**
   * One cluster flush: its writes planned (planFlush: clocks minted, heads encoded, replicas
   * chosen), handed to the vnode queues, then `release` called (see the class note).
   */
  private async flush(items: PreparedPut[], release: () => void): Promise<AaeObject[]> {
    if (this.landing.size > 0 && items.some((it) => it.clock === null)) {
      // Heads are about to be read: every earlier flush must have landed first.
      while (this.landing.size > 0) await Promise.all(this.landing);
    }
    const { out, perVnode } = await planFlush(items, this.spec, this.preflists, this.vnodeList);
    const writes: Array<Promise<unknown>> = [];
    try {
      for (const [v, plans] of perVnode) writes.push(this.vnodeList[v]!.writePlanned(plans));
    } finally {
      // Landed means every write handed over has settled, failed or not (a failure of one vnode
      // must not let a clockless flush read before the others land), including those handed over
      // before a vnode refused its share.
      const settled: Promise<void> = Promise.allSettled(writes).then(() => {
        this.landing.delete(settled);
      });
      this.landing.add(settled);
    }
    release();
    await Promise.all(writes);
    return out;
  }

  /** Closes every vnode (after its queued writes; saving trees unless told not to), then every node's LevelDB. */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true; // refuse new writes; those already queued still land
    await this.queue.idle();
    const errors: unknown[] = [];
    for (const v of this.vnodeList) await v.close(options).catch((e: unknown) => errors.push(e));
    for (const db of this.dbs.values()) await db.close().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
