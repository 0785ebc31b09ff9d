import { join } from 'node:path';
import { defaultSpec, type ClusterSpec, type ObjectHead } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { decodeUtf8, objectHashOfValue } from '../hash/index.js';
import { EmbeddedCluster } from '../coordinator/index.js';
import { locateKey, planWrite, prepareGivenHead, type PlannedWrite, type VnodeWrite } from '../store/index.js';
import { keystoreClock, keystoreClockUnchecked } from './keystore-clock.js';
import { MAX_TIME_MS } from '../cluster/index.js';
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
/** Rows per vnode write: one flush each (the vnode's own ceiling is 10,000 ops). */
const WRITE_BATCH = 5_000;

export type HeadChange = { kind: 'set'; key: Uint8Array; values: RowValues; lastModified: number; digest?: ValueDigest } | { kind: 'delete'; key: Uint8Array };

export function keystoreClusterSpec(name: string): ClusterSpec {
  return defaultSpec(name, { nodes: [KEYSTORE_NODE], ringSize: KEYSTORE_RING, nVal: 1, treeSize: 'large', hashMethod: 'value', seed: 0 });
}

/**
 * The head a row becomes: hash and size of its canonical bytes (the same hash method `value` uses
 * for a value), or the digest an engine computed itself (a value streamed in chunks; seed 0).
 */
export function headOfRow(bucket: string, key: Uint8Array, values: RowValues, lastModified: number, seed: number, digest?: ValueDigest): Extract<VnodeWrite, { kind: 'head' }> {
  let hash: number;
  let size: number;
  if (digest !== undefined) {
    if (seed !== 0) throw new AaeError('INTERNAL', 'an engine digest is hashed at seed 0; this keystore has another seed');
    ({ hash, size } = digest);
  } else {
    const bytes = canonicalRowBytes(values);
    hash = objectHashOfValue(bytes, seed);
    size = bytes.byteLength;
  }
  const ok = Number.isSafeInteger(lastModified) && lastModified >= 0 && lastModified <= MAX_TIME_MS;
  return { kind: 'head', bucket, key, clock: ok ? keystoreClockUnchecked(hash, lastModified) : keystoreClock(hash, lastModified), hash, size, deleted: false };
}

export class KeystoreStore {
  private constructor(
    readonly cluster: EmbeddedCluster,
    readonly bucket: string,
  ) {}

  static async create(dir: string, name: string, bucket: string): Promise<KeystoreStore> {
    return new KeystoreStore(await EmbeddedCluster.create(dir, keystoreClusterSpec(name)), bucket);
  }

  static async open(dir: string, bucket: string): Promise<KeystoreStore> {
    return new KeystoreStore(await EmbeddedCluster.open(dir), bucket);
  }

  static nodeDir(dir: string): string {
    return join(dir, KEYSTORE_NODE);
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
        const w = headOfRow(this.bucket, c.key, c.values, c.lastModified, spec.seed, c.digest);
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

  /** Sets the heads of snapshot rows (a build's hot path: no change object a row). */
  async applyRows(rows: readonly SnapshotRow[]): Promise<void> {
    const spec = this.cluster.spec;
    const perVnode: PlannedWrite[][] = Array.from({ length: spec.ringSize }, () => []);
    for (const r of rows) {
      const loc = locateKey(this.bucket, r.key, spec);
      const w = headOfRow(this.bucket, r.key, r.values, r.lastModified, spec.seed, r.digest);
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
