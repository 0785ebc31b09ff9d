import { join } from 'node:path';
import { defaultSpec, type ClusterSpec, type ObjectHead } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { decodeUtf8, objectHashOfValue } from '../hash/index.js';
import { EmbeddedCluster } from '../coordinator/index.js';
import { BulkHeadLoad, locateKey, planWrite, prepareGivenHead, type PlannedWrite, type VnodeWrite } from '../store/index.js';
import { isClockCounter, keystoreClock, keystoreClockUnchecked, positionClockUnchecked } from './keystore-clock.js';
import { MAX_TIME_MS, type Clock } from '../cluster/index.js';
import { canonicalRowBytes, type RowValues } from './row-bytes.js';
import type { SnapshotRow, ValueDigest } from './feed.js';

/**
 * A keystore's heads: an embedded cluster of one node, ring 8, nVal 1, hash method `value`, so
 * that `aae compare` and `aae inspect` open a keystore as they open any cluster. Each key holds a
 * head written by the store's `head` kind: the hash and size of the row's canonical bytes, the
 * keystore clock (keystore-clock.ts), lastModified; no value. Trees are kept current by the store
 * on every write; deletes erase (a key gone from the source is gone from the keystore: two
 * sources that never held it and one that deleted it compare equal).
 *
 * Clocks (keystore-clock.ts): a store built from a source with positions records its actor (one
 * record in the node's LevelDB, written when the store is built) and gives each row the position
 * clock `[[actor, counter]]` of its change; without an actor (an engine without positions), or for
 * a change without a counter, the hash clock. A store without the record was built before position
 * clocks (format 1): the follower rebuilds it.
 *
 * The checkpoint (the position the heads are applied up to) is one record in the node's LevelDB,
 * written with sync after the heads it covers have landed. LevelDB's log is sequential, so after
 * any crash a checkpoint that survived is never ahead of the heads; one behind them replays a few
 * transactions, which is harmless: applying a change sets a key's head, reading the old one from
 * the store (never from the event), so applying it twice leaves what applying it once did.
 */

export const KEYSTORE_NODE = 'n1';
/** The smallest ring: a keystore's data is on one node, and the ring only splits its trees. */
const KEYSTORE_RING = 8;
/** The node store's meta record for the checkpoint (docs/STORE.md reserves 0x00 'c' for connect). */
const CHECKPOINT_KEY = Uint8Array.of(0x00, 0x63);
/** The node store's meta record for the clock actor ('a'; empty: hash clocks by design). */
const ACTOR_KEY = Uint8Array.of(0x00, 0x61);
/** Rows per vnode write: one flush each (the vnode's own ceiling is 10,000 ops). */
const WRITE_BATCH = 5_000;
/**
 * The keystore's LevelDB memtable: 32 MiB instead of 4. A feed updates random keys, and every
 * 4 MiB memtable flushed to level 0 soon costs a compaction that rewrites the level below; with 32
 * MiB a burst of changes costs ~15–20% less CPU (aae bench pg, change apply). One node, so the
 * memory is two such tables.
 */
const KEYSTORE_WRITE_BUFFER = 32 * 1024 * 1024;

/**
 * A change to apply. `counter`: the change's position as a clock counter (absent: a hash clock).
 * `digest`: the engine hashed the value itself (a big Redis value, streamed in chunks); then
 * `values` is ignored.
 */
export type HeadChange = { kind: 'set'; key: Uint8Array; values: RowValues; lastModified: number; counter?: number; digest?: ValueDigest } | { kind: 'delete'; key: Uint8Array };

/** How a store's rows are clocked: by position in `actor`'s history, or (null) by hash. */
export interface ClockScheme {
  readonly actor: string | null;
}

export function keystoreClusterSpec(name: string): ClusterSpec {
  return defaultSpec(name, { nodes: [KEYSTORE_NODE], ringSize: KEYSTORE_RING, nVal: 1, treeSize: 'large', hashMethod: 'value', seed: 0 });
}

/**
 * The head a row becomes: hash and size of its canonical bytes (the same hash method `value` uses
 * for a value), or the digest an engine computed itself (a value streamed in chunks; seed 0), and
 * its clock: the position clock of `position` when given (an actor and a counter), else the hash
 * clock.
 */
export function headOfRow(
  bucket: string,
  key: Uint8Array,
  values: RowValues,
  lastModified: number,
  seed: number,
  position?: { readonly actor: string; readonly counter: number },
  digest?: ValueDigest,
): Extract<VnodeWrite, { kind: 'head' }> {
  const { hash, size } = digestOf(values, seed, digest);
  // valueless: a keystore's keys never have value records (its writes are all head writes).
  return { kind: 'head', bucket, key, clock: rowClock(hash, lastModified, position), hash, size, deleted: false, valueless: true };
}

/** Hash and size of a row's canonical bytes, or the engine's digest of them (hashed at seed 0). */
export function digestOf(values: RowValues, seed: number, digest?: ValueDigest): ValueDigest {
  if (digest !== undefined) {
    if (seed !== 0) throw new AaeError('INTERNAL', 'an engine digest is hashed at seed 0; this keystore has another seed');
    return digest;
  }
  const bytes = canonicalRowBytes(values);
  return { hash: objectHashOfValue(bytes, seed), size: bytes.byteLength };
}

/** A row's clock: by position when one is given and valid, else by hash (keystore-clock.ts). */
export function rowClock(hash: number, lastModified: number, position?: { readonly actor: string; readonly counter: number }): Clock {
  const ok = Number.isSafeInteger(lastModified) && lastModified >= 0 && lastModified <= MAX_TIME_MS;
  if (!ok) return keystoreClock(hash, lastModified); // throws CLOCK_INVALID, naming the time
  if (position !== undefined && isClockCounter(position.counter)) return positionClockUnchecked(position.actor, position.counter, lastModified);
  return keystoreClockUnchecked(hash, lastModified);
}

export class KeystoreStore {
  private constructor(
    readonly cluster: EmbeddedCluster,
    readonly bucket: string,
    /** How the store's rows are clocked; undefined: the store predates position clocks (format 1). */
    readonly clock: ClockScheme | undefined,
  ) {}

  /** A new store: an empty keystore cluster (its clock recorded when given). */
  static async create(dir: string, name: string, bucket: string, clock?: ClockScheme): Promise<KeystoreStore> {
    const cluster = await EmbeddedCluster.create(dir, keystoreClusterSpec(name), { writeBufferSize: KEYSTORE_WRITE_BUFFER });
    if (clock !== undefined) await cluster.nodeDb(KEYSTORE_NODE).batch([{ type: 'put', key: ACTOR_KEY, value: new TextEncoder().encode(clock.actor ?? '') }], { sync: true });
    return new KeystoreStore(cluster, bucket, clock);
  }

  static async open(dir: string, bucket: string): Promise<KeystoreStore> {
    const cluster = await EmbeddedCluster.open(dir, { writeBufferSize: KEYSTORE_WRITE_BUFFER });
    try {
      const b = await cluster.nodeDb(KEYSTORE_NODE).get(ACTOR_KEY);
      const clock = b === undefined ? undefined : { actor: b.length === 0 ? null : new TextDecoder('utf-8', { fatal: true }).decode(b) };
      return new KeystoreStore(cluster, bucket, clock);
    } catch (e) {
      await cluster.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Builds a new store at `dir` from a snapshot's rows with the store's bulk load (sorted heads,
   * trees built in one pass: see src/store/bulk-load.ts), for the follower's (re)builds. The
   * store is closed while it loads; `finish` writes the checkpoint and the clock with the trees.
   */
  static async build(dir: string, name: string, bucket: string, clock: ClockScheme): Promise<KeystoreBuild> {
    const spec = keystoreClusterSpec(name);
    const made = await EmbeddedCluster.create(dir, spec);
    await made.close();
    const vnodes = made.owners.flatMap((owner, v) => (owner === KEYSTORE_NODE ? [v] : []));
    const load = await BulkHeadLoad.open(join(dir, KEYSTORE_NODE), KEYSTORE_NODE, spec, vnodes);
    return new KeystoreBuild(load, bucket, spec.seed, clock);
  }

  static nodeDir(dir: string): string {
    return join(dir, KEYSTORE_NODE);
  }

  /** The position clock of a counter in this store's history, or undefined (a hash clock). */
  private positionOf(counter: number | undefined): { actor: string; counter: number } | undefined {
    const actor = this.clock?.actor ?? null;
    return actor === null || counter === undefined ? undefined : { actor, counter };
  }

  /**
   * Applies changes in order (a key repeated sees its earlier change), keeping trees current.
   * Each key is located and its head encoded once, then handed to its vnode's queue (nVal 1: the
   * key's keyspace is its vnode); the call resolves when every write has landed.
   */
  async apply(changes: readonly HeadChange[]): Promise<void> {
    const spec = this.cluster.spec;
    const perVnode = new Map<number, PlannedWrite[]>();
    const sends: Array<Promise<unknown>> = [];
    for (const c of changes) {
      const loc = locateKey(this.bucket, c.key, spec);
      let plan: PlannedWrite;
      if (c.kind === 'set') {
        const w = headOfRow(this.bucket, c.key, c.values, c.lastModified, spec.seed, this.positionOf(c.counter), c.digest);
        plan = planWrite(w, loc, prepareGivenHead(w, loc), undefined);
      } else {
        plan = planWrite({ kind: 'erase', bucket: this.bucket, key: c.key }, loc, undefined, undefined);
      }
      const v = loc.keyspace;
      let list = perVnode.get(v);
      if (list === undefined) perVnode.set(v, (list = []));
      list.push(plan);
      if (list.length >= WRITE_BATCH) {
        sends.push(this.cluster.vnode(v).writePlanned(list));
        perVnode.set(v, []);
      }
    }
    for (const [v, list] of perVnode) if (list.length > 0) sends.push(this.cluster.vnode(v).writePlanned(list));
    await Promise.all(sends);
  }

  /** Sets the heads of snapshot rows through the vnodes' write path (a build uses `build` instead). */
  async applyRows(rows: readonly SnapshotRow[], counter?: number): Promise<void> {
    const spec = this.cluster.spec;
    const position = this.positionOf(counter);
    const perVnode: PlannedWrite[][] = Array.from({ length: spec.ringSize }, () => []);
    for (const r of rows) {
      const loc = locateKey(this.bucket, r.key, spec);
      const w = headOfRow(this.bucket, r.key, r.values, r.lastModified, spec.seed, position, r.digest);
      perVnode[loc.keyspace]!.push(planWrite(w, loc, prepareGivenHead(w, loc), undefined));
    }
    await Promise.all(perVnode.map((list, v) => (list.length === 0 ? undefined : this.cluster.vnode(v).writePlanned(list))));
  }

  /** Erases every key (a TRUNCATE): a head fold over the bucket, then erases. */
  async truncate(signal?: AbortSignal): Promise<number> {
    let n = 0;
    for (const v of this.cluster.vnodes()) {
      const keys: Uint8Array[] = [];
      for await (const batch of v.foldHashSizes({ buckets: [this.bucket] }, signal === undefined ? {} : { signal })) for (const h of batch) keys.push(h.key);
      for (let i = 0; i < keys.length; i += WRITE_BATCH) await v.write(keys.slice(i, i + WRITE_BATCH).map((key) => ({ kind: 'erase' as const, bucket: this.bucket, key })));
      n += keys.length;
    }
    return n;
  }

  /** The keystore's view of some keys: each key's head, or null. */
  async read(keys: readonly Uint8Array[]): Promise<Array<ObjectHead | null>> {
    const perVnode = new Map<number, number[]>();
    keys.forEach((k, i) => {
      const v = this.cluster.preflistOf(this.bucket, k)[0]!;
      let list = perVnode.get(v);
      if (list === undefined) perVnode.set(v, (list = []));
      list.push(i);
    });
    const out: Array<ObjectHead | null> = new Array<ObjectHead | null>(keys.length).fill(null);
    await Promise.all(
      [...perVnode].map(async ([v, idx]) => {
        const heads = await this.cluster.vnode(v).getHeads(idx.map((i) => ({ bucket: this.bucket, key: keys[i]! })));
        heads.forEach((h, j) => (out[idx[j]!] = h));
      }),
    );
    return out;
  }

  /** Writes the checkpoint durably (sync: the heads written before it are durable too). */
  async checkpoint(position: string): Promise<void> {
    await this.cluster.vnodes()[0]!.idle(); // writes handed over have landed (apply awaits them; this is belt and braces)
    await this.cluster.nodeDb(KEYSTORE_NODE).batch([{ type: 'put', key: CHECKPOINT_KEY, value: new TextEncoder().encode(position) }], { sync: true });
  }

  async position(): Promise<string | null> {
    const b = await this.cluster.nodeDb(KEYSTORE_NODE).get(CHECKPOINT_KEY);
    if (b === undefined) return null;
    const text = decodeUtf8(b);
    if (text.length === 0) throw new AaeError('STORE_IO', 'the keystore checkpoint is empty');
    return text;
  }

  close(options?: { saveTrees?: boolean }): Promise<void> {
    return this.cluster.close(options);
  }
}

/** A store being built by bulk load (KeystoreStore.build). */
export class KeystoreBuild {
  constructor(
    private readonly load: BulkHeadLoad,
    private readonly bucket: string,
    private readonly seed: number,
    private readonly clock: ClockScheme,
  ) {}

  /** Rows added (a key added twice counts once), once flushed. */
  get rows(): number {
    return this.load.loaded;
  }

  /** Adds snapshot rows, clocked at `counter` (the snapshot's position) when the store has an actor. */
  async add(rows: readonly SnapshotRow[], counter?: number): Promise<void> {
    const position = this.clock.actor === null || counter === undefined ? undefined : { actor: this.clock.actor, counter };
    for (const r of rows) {
      const { hash, size } = digestOf(r.values, this.seed, r.digest);
      this.load.add(this.bucket, r.key, { hash, size, clock: rowClock(hash, r.lastModified, position) });
    }
    if (this.load.runFull) await this.load.flush();
  }

  /** Writes the rest, the trees, the clock and the checkpoint (synced), and closes the store. */
  async finish(position: string): Promise<void> {
    const text = new TextEncoder();
    await this.load.finish([
      { type: 'put', key: ACTOR_KEY, value: text.encode(this.clock.actor ?? '') },
      { type: 'put', key: CHECKPOINT_KEY, value: text.encode(position) },
    ]);
  }

  async abort(): Promise<void> {
    await this.load.abort();
  }
}
