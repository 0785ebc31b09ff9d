/**
 * A keystore as a node: the node contract (src/node) over a keystore directory, so the
 * coordinator, compare, inspect, fold, repair and sync reach a database table exactly as they
 * reach a node of an embedded cluster.
 *
 * - `info`, `fold` and `readHeads` answer from the keystore's own store (its heads and cached
 *   trees, one node of eight vnodes). Folds over heads and cached trees run here, as on any node;
 *   object and index folds are refused (the values live in the source), and so are mutating folds
 *   (a keystore's heads change only by its feed).
 * - `readObjects` reads the values from the source (source-access.ts): the value is its canonical
 *   bytes (a row's, a Redis value's, an etcd value's), the hash theirs, the clock the keystore's for
 *   that version. A row the feed has not applied yet (it
 *   hashes otherwise than the keystore's head) gets the hash clock (keystore-clock.ts): its
 *   position is unknown, and a hash clock can be taken for no version's ancestor or descendant.
 * - `write` writes into the source (source-access.ts): a put with `ifHeld` lands only while the row
 *   still hashes to the version the decision saw (null: the row is absent), a tombstone or an erase
 *   deletes the row under the same condition, a put without a condition is an upsert. A keystore
 *   holds no tombstones and no clocks to dominate, so a condition on a tombstone never holds and
 *   `ifDominates` is refused. `previous` is the row each write found, so the coordinator's outcome
 *   logic holds. The answer comes once the keystore has caught up to the write (its feed runs in
 *   this process): a repair loop's next exchange sees what it wrote. Caught up means the feed
 *   reached a position at or past the write: the one the write names (etcd: its transaction's
 *   revision), else the source's current position taken after the write (PostgreSQL: the WAL
 *   insert position; Redis: a PING through every subscriber connection, after which the write's
 *   notification has been received, and the tick of the feed's notification clock then).
 * - `info.keystore` says whether the keystore is reliable, its position and its lag.
 *
 * Opened with `source: 'off'` the node serves the keystore as it stands, without following its
 * source (compare, inspect, fold: no connection to the database is needed); with `source:
 * 'follow'` it first catches up (building the keystore if it never was), then follows its source
 * in this process for as long as it is open, and takes writes. While following it may not rebuild
 * unless told (`rebuilds`, a server's follow mode): a gap then marks the keystore unreliable and
 * stops the feed, and writes are refused from then on.
 */
import { indexNsOfVnode, type AaeObject } from '../cluster/index.js';
import { AaeError, isAaeError } from '../errors.js';
import { FoldQueue, ModuleRegistry, executeFold, type AnyFoldModule, type FoldQueueLimits } from '../fold/index.js';
import {
  NODE_CONTRACT,
  type CallOptions,
  type FoldEvent,
  type FoldRequest,
  type Head,
  type HeadsAnswer,
  type KeystoreNodeStatus,
  type NodeInfo,
  type NodeService,
  type ObjectsAnswer,
  type ReadRequest,
  type StoredObjectRecord,
  type WriteAnswer,
  type WriteOp,
  type WriteRequest,
} from '../node/index.js';
import { locateKey } from '../store/index.js';
import type { ChangeSource } from './feed.js';
import { Follower, type FollowLog } from './follower.js';
import { Gate } from './gate.js';
import { keystoreClock } from './keystore-clock.js';
import { KEYSTORE_NODE } from './keystore-store.js';
import { openKeystore, type OpenKeystore } from './keystore.js';
import { openSource } from './open-source.js';
import type { SourceAccess, SourceWrite } from './source-access.js';

export interface KeystoreNodeOptions {
  /** 'off' (default): serve the keystore as it stands; 'follow': catch up, then follow the source in this process and take writes. */
  source?: 'off' | 'follow';
  /** While following, whether the feed may rebuild the keystore (a server's follow mode). Default false. */
  rebuilds?: boolean;
  /** Fold modules beyond the built-ins (a module loaded from a file). */
  modules?: readonly AnyFoldModule[];
  foldLimits?: FoldQueueLimits;
  /** The feed's log lines (CN001…). */
  log?: (line: FollowLog) => void;
  /** Stops the catch-up at open. */
  signal?: AbortSignal;
  /** Wait before the feed reconnects after a lost connection (ms). */
  retryMs?: number;
}

const NEVER = new AbortController().signal;

export class KeystoreNode implements NodeService {
  private readonly gate = new Gate();
  private readonly queue: FoldQueue;
  private readonly modules: ModuleRegistry;
  private readonly stop = new AbortController();
  private feed: Promise<void> | null = null;
  private feedError: unknown = null;
  private closed = false;

  private constructor(
    private ks: OpenKeystore,
    private readonly source: ChangeSource,
    private readonly access: SourceAccess,
    private readonly follower: Follower | null,
    options: KeystoreNodeOptions,
  ) {
    this.queue = new FoldQueue(KEYSTORE_NODE, options.foldLimits);
    this.modules = options.modules === undefined || options.modules.length === 0 ? new ModuleRegistry() : new ModuleRegistry().with(options.modules);
  }

  /** Opens the keystore at `dir` as a node (see the file comment for the two modes). */
  static async open(dir: string, options: KeystoreNodeOptions = {}): Promise<KeystoreNode> {
    const ks = await openKeystore(dir);
    const { feed: source, access } = openSource(ks.spec);
    if (options.source !== 'follow') return new KeystoreNode(ks, source, access, null, options);
    let node: KeystoreNode | undefined;
    const follower = new Follower(ks, source, { exclusive: (fn) => (node === undefined ? fn() : node.gate.exclusive(fn)) });
    node = new KeystoreNode(ks, source, access, follower, options);
    try {
      // Caught up (built, if it never was) before it serves anything.
      await follower.run({
        once: true,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.log === undefined ? {} : { log: options.log }),
        ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
      });
      node.follow(options);
      return node;
    } catch (e) {
      await node.close().catch(() => undefined);
      throw e;
    }
  }

  private follow(options: KeystoreNodeOptions): void {
    const follower = this.follower!;
    this.feed = follower
      .run({
        signal: this.stop.signal,
        rebuilds: options.rebuilds ?? false,
        retryMs: options.retryMs ?? 1_000,
        ...(options.log === undefined ? {} : { log: options.log }),
      })
      .then(
        () => undefined,
        (e: unknown) => {
          if (!this.stop.signal.aborted) this.feedError = e;
        },
      );
  }

  /** The keystore as it is now (a rebuild swaps its store). */
  private get keystore(): OpenKeystore {
    return this.follower?.keystore ?? this.ks;
  }

  get name(): string {
    return KEYSTORE_NODE;
  }

  get dir(): string {
    return this.keystore.dir;
  }

  /** Whether the node follows its source now (and so takes writes). */
  get following(): boolean {
    return this.follower?.isRunning === true && !this.closed;
  }

  private checkOpen(): void {
    if (this.closed) throw new AaeError('STORE_CLOSED', `keystore node ${this.keystore.dir} is closed`);
  }

  /** Where the keystore stands, for info, compare and status. */
  status(): KeystoreNodeStatus {
    const s = this.keystore.state;
    return {
      engine: this.keystore.spec.source.engine,
      reliable: s.reliable,
      reason: s.unreliable?.reason ?? null,
      phase: s.phase,
      position: this.follower?.position ?? s.position,
      lag: this.follower?.currentLag ?? s.lag,
      following: this.following,
      ...(s.unreachable === undefined ? {} : { unreachable: { ...s.unreachable } }),
    };
  }

  async info(): Promise<NodeInfo> {
    this.checkOpen();
    return this.gate.shared(async () => {
      const local = await this.keystore.store.cluster.localNode(KEYSTORE_NODE).info();
      return {
        ...local,
        contract: { major: NODE_CONTRACT.major, minor: NODE_CONTRACT.minor },
        // The values live in the source: no object or index folds; writes go to the source while following.
        capabilities: { treeCache: true, headFold: true, hashSizeFold: true, objectFold: false, indexFold: false, writes: this.following, erasesDeletes: true },
        modules: this.modules.list(),
        folds: { ...this.queue.load, maxRunning: this.queue.maxRunning, maxWaiting: this.queue.maxWaiting },
        keystore: this.status(),
      };
    });
  }

  fold(request: FoldRequest, options: CallOptions = {}): AsyncIterable<FoldEvent> {
    return this.runFold(request, options.signal ?? NEVER);
  }

  private async *runFold(request: FoldRequest, signal: AbortSignal): AsyncGenerator<FoldEvent> {
    this.checkOpen();
    const lease = this.modules.acquire(request.module, request.version, request.digest);
    try {
      const { module } = lease;
      if (module.info.mutates) {
        throw new AaeError('FOLD_MUTATION_REFUSED', `keystore node ${this.keystore.dir} runs no mutating folds (${module.info.name}): its heads change only by its feed`, { details: { node: KEYSTORE_NODE, module: module.info.name } });
      }
      // Held from before the store is looked up: a swap (an exclusive section) replaces the store,
      // and a fold that took the old one before waiting would read it closed.
      const release = await this.gate.hold();
      try {
        const cluster = this.keystore.store.cluster;
        const params = cluster.params;
        for (const share of request.vnodes) {
          const held = share.vnode >= 0 && share.vnode < params.ringSize ? indexNsOfVnode(share.vnode, params).map((n) => n.keyspace) : null;
          if (held === null) throw new AaeError('NODE_REQUEST_INVALID', `node ${KEYSTORE_NODE} holds no vnode ${share.vnode}`, { details: { node: KEYSTORE_NODE, vnode: share.vnode } });
          for (const k of share.keyspaces) {
            if (!held.includes(k)) throw new AaeError('NODE_REQUEST_INVALID', `vnode ${share.vnode} on node ${KEYSTORE_NODE} does not hold keyspace ${k}`, { details: { node: KEYSTORE_NODE, vnode: share.vnode, keyspace: k } });
          }
        }
        const session = await module.open(request.query, { signal, node: KEYSTORE_NODE });
        try {
          const needs = session.needs;
          if (needs === 'objects' || needs === 'index') {
            throw new AaeError('NODE_REQUEST_INVALID', `keystore node ${this.keystore.dir} does not offer ${needs === 'objects' ? 'object' : 'index'} folds (${module.info.name}): the values live in the source`, { details: { node: KEYSTORE_NODE, module: module.info.name } });
          }
          yield* executeFold({ node: KEYSTORE_NODE, session, shares: request.vnodes, vnode: (id) => cluster.vnode(id), nVal: params.nVal, queue: this.queue, signal, emits: request.emit === true });
        } finally {
          session.close();
        }
      } finally {
        release();
      }
    } finally {
      lease.release();
    }
  }

  async readHeads(request: ReadRequest): Promise<HeadsAnswer> {
    this.checkOpen();
    return this.gate.shared(() => this.keystore.store.cluster.localNode(KEYSTORE_NODE).readHeads(request));
  }

  async readObjects(request: ReadRequest): Promise<ObjectsAnswer> {
    this.checkOpen();
    const { heads } = await this.readHeads(request);
    const bucket = this.keystore.spec.bucket;
    // Keys of another bucket, or that no key of the source could have, are not there.
    const asked: number[] = [];
    request.keys.forEach((k, i) => {
      if (k.bucket === bucket && this.access.holdsKey(k.key)) asked.push(i);
    });
    const values = asked.length === 0 ? [] : await this.access.read(asked.map((i) => request.keys[i]!.key));
    const objects: Array<StoredObjectRecord | null> = new Array<StoredObjectRecord | null>(request.keys.length).fill(null);
    asked.forEach((i, j) => {
      const v = values[j];
      if (v === null || v === undefined) return;
      const head = heads[i] ?? null;
      const clock = head !== null && !head.deleted && head.hash === v.hash ? head.clock : keystoreClock(v.hash, v.lastModified);
      const object: AaeObject = { bucket, key: request.keys[i]!.key, clock, value: v.bytes, deleted: false, indexes: [] };
      objects[i] = { object, hash: v.hash };
    });
    return { objects };
  }

  async write(request: WriteRequest, options: CallOptions = {}): Promise<WriteAnswer> {
    this.checkOpen();
    if (!this.following) {
      const why = this.feedError !== null ? `its feed stopped: ${(this.feedError as Error).message}` : 'it was opened without following its source';
      throw new AaeError(isAaeError(this.feedError, 'FEED_GAP') ? 'KEYSTORE_UNRELIABLE' : 'NODE_REQUEST_INVALID', `keystore node ${this.keystore.dir} takes no writes: ${why}`, { details: { node: KEYSTORE_NODE } });
    }
    const bucket = this.keystore.spec.bucket;
    const params = this.keystore.store.cluster.params;
    // Everything is checked before anything is written.
    const keys = request.writes.map(({ op }) => (op.kind === 'put' ? { bucket: op.object.bucket, key: op.object.key } : { bucket: op.bucket, key: op.key }));
    const plans = request.writes.map(({ op }, i) => planSourceWrite(op, keys[i]!.bucket, bucket, this.access, this.keystore.dir));
    const { heads } = await this.readHeads({ vnode: request.vnode, keys });
    const sourceWrites: SourceWrite[] = [];
    const at: number[] = [];
    plans.forEach((p, i) => {
      if (p !== null) {
        at.push(i);
        sourceWrites.push(p);
      }
    });
    const report = sourceWrites.length === 0 ? null : await this.access.write(sourceWrites, options.signal === undefined ? {} : { signal: options.signal });
    if (report !== null && report.written > 0) {
      // Read-your-writes: the answer waits until the keystore (and its trees) hold what was written.
      const target = report.position ?? (await this.source.currentPosition());
      await this.follower!.waitFor(target, options.signal);
    }
    if (request.noResult === true) return { previous: [] };
    const previous: Array<Head | null> = heads.map((h) => h);
    at.forEach((i, j) => {
      const found = report!.found[j]!;
      const head = heads[i] ?? null;
      if (found === null) previous[i] = null;
      else if (head !== null && head.hash === found.hash) previous[i] = head;
      else {
        const alt = locateKey(keys[i]!.bucket, keys[i]!.key, params).alt;
        previous[i] = { clock: keystoreClock(found.hash, head?.clock.lastModified ?? 0), deleted: false, size: found.size, hash: found.hash, alt, indexes: [] };
      }
    });
    return { previous };
  }

  /** Stops the feed (the checkpoint is made durable), closes the store and the source's connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    await this.feed;
    const errors: unknown[] = [];
    await this.gate.exclusive(() => this.keystore.store.close()).catch((e: unknown) => errors.push(e));
    await this.access.close().catch((e: unknown) => errors.push(e));
    await this.source.close().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}

/**
 * The source write a node write becomes, or null for a write whose condition cannot hold on a
 * keystore (a tombstone named as held: a keystore never holds one). Throws on a write the node
 * cannot take (before anything is written).
 */
function planSourceWrite(op: WriteOp, opBucket: string, bucket: string, access: SourceAccess, dir: string): SourceWrite | null {
  if (opBucket !== bucket) throw new AaeError('NODE_REQUEST_INVALID', `keystore node ${dir} holds bucket '${bucket}' only, not '${opBucket}'`, { details: { node: KEYSTORE_NODE } });
  if (!access.holdsKey(op.kind === 'put' ? op.object.key : op.key)) throw new AaeError('INVALID_ARGUMENT', `keystore ${dir}: no key of its source can have these key bytes`);
  if (op.kind === 'erase') {
    if (op.ifDeleted === true) return null;
    return op.ifHash === undefined ? { key: op.key, value: null } : { key: op.key, expect: op.ifHash, value: null };
  }
  if (op.ifDominates === true) {
    throw new AaeError('NODE_REQUEST_INVALID', `keystore node ${dir} writes by compare-and-set (ifHeld), not by clock: its rows carry no clocks to dominate`, { details: { node: KEYSTORE_NODE } });
  }
  const o = op.object;
  let value: Uint8Array | null = null;
  if (!o.deleted) {
    const why = access.checkValue(o.value);
    if (why !== null) throw new AaeError('INVALID_ARGUMENT', `keystore ${dir}: ${why}`);
    value = o.value;
  }
  if (op.ifHeld === undefined) return { key: o.key, value };
  if (op.ifHeld === null) return { key: o.key, expect: null, value };
  if (op.ifHeld.deleted) return null;
  return { key: o.key, expect: op.ifHeld.hash, value };
}
