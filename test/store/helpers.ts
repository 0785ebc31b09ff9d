import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { canonicalKey, contribution, keyHash, objectHash } from '../../src/hash/index.js';
import { TicTacTree, segmentCountOf } from '../../src/tictac/index.js';
import { encodeHead } from '../../src/store/head-encoder.js';
import { KIND_HEAD, KIND_VALUE, objectKey } from '../../src/store/layout.js';
import { indexNsOfVnode, type ClusterSpec, type IndexN } from '../../src/cluster/index.js';
import { locateKey, type StoredHead, type StoredObject, type Vnode } from '../../src/store/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';

/** A fresh temp directory; `dispose` removes it. */
export async function tempDir(prefix = 'aae-store-'): Promise<{ path: string; dispose: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, dispose: () => rm(path, { recursive: true, force: true }) };
}

/** A temp directory for a whole test file: made before its first test, removed after its last. */
export function useFileTempDir(prefix?: string): { path: string } {
  const dir = { path: '' };
  let dispose = (): Promise<void> => Promise.resolve();
  beforeAll(async () => {
    const made = await tempDir(prefix);
    dir.path = made.path;
    dispose = made.dispose;
  });
  afterAll(() => dispose());
  return dir;
}

/** A fresh cluster of `spec` for each test, in its own temp directory, closed and removed after it. */
export function useFreshCluster(spec: ClusterSpec): { cluster: EmbeddedCluster; path: string } {
  const env = { cluster: undefined as unknown as EmbeddedCluster, path: '' };
  let dispose = (): Promise<void> => Promise.resolve();
  beforeEach(async () => {
    const made = await tempDir();
    env.path = made.path;
    dispose = made.dispose;
    env.cluster = await EmbeddedCluster.create(made.path, spec);
  });
  afterEach(async () => {
    await env.cluster.close().catch(() => undefined);
    await dispose();
  });
  return env;
}

export async function collect<T>(it: AsyncIterable<readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of it) out.push(...batch);
  return out;
}

/**
 * The tree a vnode's IndexN should have, computed from scratch from its objects with the hash
 * functions directly (it trusts neither the stored alt nor the stored hash).
 */
export async function treeFromScratch(vnode: Vnode, indexN: IndexN, spec: ClusterSpec): Promise<TicTacTree> {
  const tree = TicTacTree.create(spec.treeSize);
  for (const o of await collect<StoredObject>(vnode.foldObjects({ keyspaces: [indexN.keyspace] }))) {
    const { segment32, alt } = keyHash(canonicalKey(o.bucket, o.key), spec.seed);
    tree.add(segment32, contribution(alt, objectHash(spec.hashMethod, spec.seed, o.clock.entries, o.value, o.deleted)));
  }
  return tree;
}

/** Every cached tree of every vnode equals its tree from scratch; returns how many were compared. */
export async function expectTreesMatchData(vnodes: readonly Vnode[], spec: ClusterSpec, expectEqual: (a: unknown, b: unknown, msg: string) => void): Promise<number> {
  let n = 0;
  for (const v of vnodes) {
    for (const indexN of v.indexNs) {
      const cached = await v.fetchTree(indexN);
      const scratch = await treeFromScratch(v, indexN, spec);
      expectEqual(cached.equals(scratch), true, `vnode ${v.id} keyspace ${indexN.keyspace}`);
      expectEqual(Array.from(await v.fetchRoot(indexN)), Array.from(scratch.root()), `root of vnode ${v.id} keyspace ${indexN.keyspace}`);
      n++;
    }
  }
  return n;
}

export function keyString(h: Pick<StoredHead, 'bucket' | 'key'>): string {
  return `${h.bucket}/${Buffer.from(h.key).toString('hex')}`;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/**
 * Puts `around` in place of every LevelDB batch write of the cluster's vnodes from now on: it gets
 * the real write and the batch's discard, and may delay the one (writes stay in flight long enough
 * to race) or call the other and throw (a failing disk).
 */
export function aroundBatchWrites(cluster: EmbeddedCluster, around: (write: () => Promise<void>, discard: () => Promise<void>) => Promise<void>): void {
  for (const node of cluster.spec.nodes) {
    const db = cluster.nodeDb(node);
    const writer = db.writer.bind(db);
    db.writer = () => {
      const w = writer();
      const write = w.write.bind(w);
      w.write = (options) => around(() => write(options), () => w.discard());
      return w;
    };
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** For each stem, the first `count` keys `${stem}${i}` (bucket 'b') whose keyspace `vnode` holds. */
export function keysHeldBy(spec: ClusterSpec, vnode: number, stems: readonly string[], count = 1): string[] {
  const held = new Set(indexNsOfVnode(vnode, spec).map((x) => x.keyspace));
  const out: string[] = [];
  for (const stem of stems) {
    for (let i = 0, found = 0; found < count; i++) {
      if (held.has(locateKey('b', enc(`${stem}${i}`), spec).keyspace)) {
        out.push(`${stem}${i}`);
        found++;
      }
    }
  }
  return out;
}

/**
 * Writes `count` objects straight into vnode `vnode`'s LevelDB (head and value records), behind its
 * trees' back, each in a segment its current tree holds empty: damage a spot check of the saved
 * trees cannot see (it samples non-empty leaves), which only a rebuild from the heads finds.
 * Returns the keys planted (bucket 'b').
 */
export async function plantBehindTrees(cluster: EmbeddedCluster, vnode: number, count: number): Promise<string[]> {
  const v = cluster.vnode(vnode);
  const spec = cluster.spec;
  const trees = new Map<number, TicTacTree>();
  for (const n of v.indexNs) trees.set(n.keyspace, await v.fetchTree(n));
  const mask = segmentCountOf(spec.treeSize) - 1;
  const planted: string[] = [];
  const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = [];
  for (let i = 0; planted.length < count; i++) {
    const key = `ghost-${vnode}-${i}`;
    const loc = locateKey('b', enc(key), spec);
    const tree = trees.get(loc.keyspace);
    if (tree === undefined || tree.getSegment(loc.segment32 & mask) !== 0) continue;
    const clock = { entries: [['ghost', 1]] as Array<readonly [string, number]>, lastModified: 1 };
    const value = enc('boo');
    const head = encodeHead({ clock, deleted: false, size: value.length, hash: objectHash(spec.hashMethod, spec.seed, clock.entries, value, false), alt: loc.alt, indexes: [] });
    ops.push({ type: 'put', key: objectKey(vnode, KIND_HEAD, loc.keyspace, loc.segment32, loc.ckey), value: head });
    ops.push({ type: 'put', key: objectKey(vnode, KIND_VALUE, loc.keyspace, loc.segment32, loc.ckey), value });
    planted.push(key);
  }
  await cluster.nodeDb(v.node).batch(ops);
  return planted;
}
