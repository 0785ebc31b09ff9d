/**
 * A cluster as its coordinator: the ring (claim, preflists), one handle per node on the node
 * contract, and the cluster's own operations over them — writes (clock minting, preflist fan-out),
 * reads of every replica, conditional repair writes. It never touches a node's storage: every
 * replica is reached through NodeService, so the nodes may be in this process (the embedded
 * cluster), behind a socket, or a keystore.
 *
 * A write goes to every vnode of the key's preflist (or the first `replicas` of them, to make
 * replica drift on purpose). A write with a clock stores that clock exactly (repair copies objects
 * this way); a write without one makes a new version: the clocks all replicas hold are merged and
 * incremented by the cluster's actor (its name). Cluster writes pass through one batching queue,
 * so two concurrent clockless writes to one key never mint the same clock; each node then applies
 * its share through its vnodes' own queues, which keep their trees current.
 *
 * The cluster queue pipelines: once a flush has handed its writes to the nodes (each vnode queue
 * keeps them in order) the next flush starts, so hashing and encoding the next batch overlaps the
 * nodes writing this one. A flush that must read heads (clockless items) first waits until every
 * earlier flush has landed, so the clocks it merges are the latest.
 */
import {
  claim,
  dominantObject,
  dominates,
  keyToBytes,
  keyToJson,
  preflist,
  validateObjectKey,
  type AaeObject,
  type Claim,
  type Clock,
  type ClusterSpec,
} from '../cluster/index.js';
import { AaeError, isAaeError, throwIfAborted } from '../errors.js';
import type { ClusterNodes, Head, HeldVersion, KeyLoc, KeyRef, NodeParams, NodeService, WriteEntry } from '../node/index.js';
import { locateKey } from '../store/index.js';
import { WriteQueue } from '../store/write-queue.js';
import { planFlush, prepareItem, type PreparedPut, type PutItem } from './cluster-write.js';

export interface ReplicaVersion {
  vnode: number;
  node: string;
  object: AaeObject | null;
  /** The object hash the replica's head stores (null where it lacks the key). */
  hash: number | null;
}

export interface ReplicaHead {
  vnode: number;
  node: string;
  /** null: the replica lacks the key; undefined: not read (the caller's skipVnode). */
  head: Head | null | undefined;
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

export type WriteOutcome = 'written' | 'skipped';

/**
 * Items per putMany batch: each becomes one cluster flush and, per vnode, one read and one write
 * request; 5000 amortises those calls while a batch's records stay a few MiB.
 */
const DEFAULT_PUT_BATCH = 5000;
/** A single flush of the cluster queue takes at most this many items. */
const MAX_CLUSTER_FLUSH = 20_000;
/** Cluster flushes unfinished at once: one landing while the next is prepared. */
const CLUSTER_PIPELINE_DEPTH = 2;

export class Cluster implements ClusterNodes {
  readonly claim: Claim;
  readonly params: NodeParams;
  private readonly queue: WriteQueue<PreparedPut, AaeObject>;
  /** Each keyspace's preflist (the ring is fixed): computed once, not once per write. */
  private readonly preflists: ReadonlyArray<readonly number[]>;
  /** Flushes handed to the nodes and not yet landed (each settles, never rejects). */
  private readonly landing = new Set<Promise<void>>();
  private closed = false;
  private readonly down = new Set<string>();

  constructor(
    readonly spec: ClusterSpec,
    private readonly nodes: ReadonlyMap<string, NodeService>,
  ) {
    for (const n of spec.nodes) if (!nodes.has(n)) throw new TypeError(`no handle for node ${n}`);
    this.claim = claim(spec.ringSize, spec.nodes, spec.nVal);
    this.params = { ringSize: spec.ringSize, nVal: spec.nVal, treeSize: spec.treeSize, hashMethod: spec.hashMethod, seed: spec.seed };
    this.queue = new WriteQueue((items, release) => this.flush(items, release), MAX_CLUSTER_FLUSH, CLUSTER_PIPELINE_DEPTH);
    this.preflists = Array.from({ length: spec.ringSize }, (_, k) => preflist(k, spec));
  }

  get name(): string {
    return this.spec.name;
  }

  /** vnode → owning node. */
  get owners(): readonly string[] {
    return this.claim.owners;
  }

  node(name: string): NodeService {
    const n = this.nodes.get(name);
    if (n === undefined) throw new AaeError('INVALID_ARGUMENT', `no node '${name}' in cluster ${this.spec.name}`);
    return n;
  }

  /** Nodes found unreachable (see ClusterNodes): plans route around them. */
  get unavailable(): ReadonlySet<string> {
    return this.down;
  }

  markUnavailable(name: string): void {
    if (this.nodes.has(name)) this.down.add(name);
  }

  /** The node that owns `vnode`. */
  nodeOf(vnode: number): NodeService {
    const owner = this.claim.owners[vnode];
    if (owner === undefined) throw new AaeError('INVALID_ARGUMENT', `no vnode ${vnode} in a ring of ${this.spec.ringSize}`);
    return this.node(owner);
  }

  /** The vnodes holding (bucket, key), in preflist order. */
  preflistOf(bucket: string, key: string | Uint8Array): readonly number[] {
    const k = keyToBytes(key);
    validateObjectKey({ bucket, key: k });
    return this.preflists[locateKey(bucket, k, this.spec).keyspace]!;
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
    const [replicas] = await this.readReplicas([{ bucket, key: keyToBytes(key) }]);
    return replicas!;
  }

  /** getReplicas for many keys at once: for each key, each preflist replica's version, in preflist order. */
  async readReplicas(keys: readonly KeyRef[], options: { signal?: AbortSignal } = {}): Promise<ReplicaVersion[][]> {
    const read = await this.perReplica(keys, options, async (vnode, ks, signal) => (await this.nodeOf(vnode).readObjects({ vnode, keys: ks }, signal)).objects);
    return read.map((replicas) => replicas.map(({ vnode, node, found }) => ({ vnode, node, object: found === null ? null : found.object, hash: found === null ? null : found.hash })));
  }

  /**
   * As readReplicas, heads only (no value is read): each preflist replica's head, in order. A key
   * may name a vnode not to read (`skipVnode`: the caller already holds its version); its entry
   * then comes back with `head: undefined`.
   */
  async readReplicaHeads(keys: ReadonlyArray<KeyRef & { skipVnode?: number }>, options: { signal?: AbortSignal } = {}): Promise<ReplicaHead[][]> {
    const read = await this.perReplica(keys, options, async (vnode, ks, signal) => (await this.nodeOf(vnode).readHeads({ vnode, keys: ks }, signal)).heads);
    return read.map((replicas) => replicas.map(({ vnode, node, found, skipped }) => ({ vnode, node, head: skipped ? undefined : found })));
  }

  /** One read per vnode for the whole batch, not one small read per key and replica. */
  private async perReplica<T>(
    keys: ReadonlyArray<KeyRef & { skipVnode?: number }>,
    options: { signal?: AbortSignal },
    read: (vnode: number, keys: KeyRef[], signal: { signal?: AbortSignal }) => Promise<ReadonlyArray<T | null>>,
  ): Promise<Array<Array<{ vnode: number; node: string; found: T | null; skipped: boolean }>>> {
    this.checkOpen();
    throwIfAborted(options.signal);
    const pref = keys.map((k) => this.preflistOf(k.bucket, k.key));
    const perVnode = new Map<number, Array<{ item: number; slot: number }>>();
    pref.forEach((vnodes, item) =>
      vnodes.forEach((v, slot) => {
        if (v === keys[item]!.skipVnode) return;
        let list = perVnode.get(v);
        if (list === undefined) perVnode.set(v, (list = []));
        list.push({ item, slot });
      }),
    );
    const owners = this.claim.owners;
    const out = pref.map((vnodes, item) => vnodes.map((v) => ({ vnode: v, node: owners[v]!, found: null as T | null, skipped: v === keys[item]!.skipVnode })));
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    await Promise.all(
      [...perVnode].map(async ([v, list]) => {
        const found = await read(v, list.map(({ item }) => ({ bucket: keys[item]!.bucket, key: keys[item]!.key })), signal);
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
  async writeIfDominates(items: ReadonlyArray<{ object: AaeObject; vnodes?: readonly number[] }>, options: { signal?: AbortSignal } = {}): Promise<WriteOutcome[][]> {
    this.checkOpen();
    const perVnode = new Map<number, Array<{ item: number; slot: number }>>();
    const targets = items.map((it, i) => {
      validateObjectKey(it.object);
      const vnodes = it.vnodes ?? this.preflistOf(it.object.bucket, it.object.key);
      vnodes.forEach((v, slot) => {
        let list = perVnode.get(v);
        if (list === undefined) perVnode.set(v, (list = []));
        list.push({ item: i, slot });
      });
      return vnodes;
    });
    const out = targets.map((vs) => vs.map((): WriteOutcome => 'skipped'));
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    await Promise.all(
      [...perVnode].map(async ([v, list]) => {
        const writes: WriteEntry[] = list.map(({ item }) => ({ op: { kind: 'put', object: items[item]!.object, ifDominates: true } }));
        const { previous } = await this.nodeOf(v).write({ vnode: v, writes }, signal);
        list.forEach(({ item, slot }, j) => {
          const old = previous[j] ?? null;
          // The vnode decided against exactly this head: the outcome follows from it.
          out[item]![slot] = old === null || dominates(items[item]!.object.clock, old.clock) ? 'written' : 'skipped';
        });
      }),
    );
    return out;
  }

  /**
   * Repair's compare-and-set: each object, keeping its clock, to the given vnodes, each only while
   * that vnode still holds exactly the version named with it (null: none) — the version the repair
   * decided on. The check and the write are one step of the vnode's write queue, so a version that
   * lands after the decision is never overwritten, whatever its clock. One outcome per target, in order.
   */
  async writeIfHeld(items: ReadonlyArray<{ object: AaeObject; targets: ReadonlyArray<{ vnode: number; held: HeldVersion | null }> }>, options: { signal?: AbortSignal } = {}): Promise<WriteOutcome[][]> {
    this.checkOpen();
    const perVnode = new Map<number, Array<{ item: number; slot: number }>>();
    items.forEach((it, i) => {
      validateObjectKey(it.object);
      it.targets.forEach((t, slot) => {
        let list = perVnode.get(t.vnode);
        if (list === undefined) perVnode.set(t.vnode, (list = []));
        list.push({ item: i, slot });
      });
    });
    const out = items.map((it) => it.targets.map((): WriteOutcome => 'skipped'));
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    await Promise.all(
      [...perVnode].map(async ([v, list]) => {
        const writes: WriteEntry[] = list.map(({ item, slot }) => ({ op: { kind: 'put', object: items[item]!.object, ifHeld: items[item]!.targets[slot]!.held } }));
        const { previous } = await this.nodeOf(v).write({ vnode: v, writes }, signal);
        list.forEach(({ item, slot }, j) => {
          const held = items[item]!.targets[slot]!.held;
          const old = previous[j] ?? null;
          // The vnode decided against exactly this head: the outcome follows from it.
          out[item]![slot] = (old === null ? held === null : held !== null && old.hash === held.hash && old.deleted === held.deleted) ? 'written' : 'skipped';
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
    // A replica on a node that is down is read around (a write lands on every replica, so any
    // that answers holds it); only when none answers does the read fail.
    this.checkOpen();
    const k = keyToBytes(key);
    const vnodes = this.preflistOf(bucket, k);
    const owners = this.claim.owners;
    let failure: unknown;
    const objects = await Promise.all(
      vnodes.map(async (vnode) => {
        if (this.down.has(owners[vnode]!)) return undefined;
        try {
          return (await this.nodeOf(vnode).readObjects({ vnode, keys: [{ bucket, key: k }] })).objects[0]?.object ?? null;
        } catch (e) {
          if (!(isAaeError(e, 'NODE_UNAVAILABLE') || isAaeError(e, 'TIMEOUT'))) throw e;
          failure ??= e;
          return undefined;
        }
      }),
    );
    const answered = objects.filter((o): o is AaeObject | null => o !== undefined);
    if (answered.length === 0) {
      throw failure ?? new AaeError('NODE_UNAVAILABLE', `no replica of key ${JSON.stringify(keyToJson(k))} in bucket ${bucket} can be read: the nodes holding it (${[...new Set(vnodes.map((v) => owners[v]!))].join(', ')}) are down`);
    }
    return dominantObject(answered);
  }

  /**
   * One cluster flush: its writes planned (planFlush: clocks minted, heads encoded, replicas
   * chosen), handed to the nodes, then `release` called (see the class note).
   */
  private async flush(items: PreparedPut[], release: () => void): Promise<AaeObject[]> {
    if (this.landing.size > 0 && items.some((it) => it.clock === null)) {
      // Heads are about to be read: every earlier flush must have landed first.
      while (this.landing.size > 0) await Promise.all(this.landing);
    }
    const { out, perVnode } = await planFlush(items, this.spec, this.preflists, (vnode, locs: readonly KeyLoc[]) =>
      this.nodeOf(vnode).readHeads({ vnode, keys: locs, locs }),
    );
    const writes: Array<Promise<unknown>> = [];
    try {
      // The cluster returns the stored objects, not what they replaced: no per-op result.
      for (const [v, entries] of perVnode) writes.push(this.nodeOf(v).write({ vnode: v, writes: entries, noResult: true }));
    } finally {
      // Landed means every write handed over has settled, failed or not (a failure of one vnode
      // must not let a clockless flush read before the others land), including those handed over
      // before a node refused its share.
      const settled: Promise<void> = Promise.allSettled(writes).then(() => {
        this.landing.delete(settled);
      });
      this.landing.add(settled);
    }
    release();
    await Promise.all(writes);
    return out;
  }

  /** Waits for queued writes, then closes every node handle. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true; // refuse new writes; those already queued still land
    await this.queue.idle();
    await this.closeNodes();
  }

  /** Closes every node handle, in the spec's order; the first failure is thrown once all were tried. */
  protected async closeNodes(): Promise<void> {
    const errors: unknown[] = [];
    for (const name of this.spec.nodes) await this.nodes.get(name)!.close().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }

  /** True once close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }
}

export type { PutItem };
