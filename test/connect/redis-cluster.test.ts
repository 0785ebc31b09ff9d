import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCluster } from 'redis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readState } from '../../src/connect/keystore-state.js';
import { startLocalRedisCluster, type LocalRedisCluster } from '../../src/connect/redis/local-redis.js';
import { connectRedis } from '../../src/connect/redis/redis-connect.js';
import { RedisTopology } from '../../src/connect/redis/redis-connection.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';
import { readValue } from '../../src/connect/redis/redis-value.js';
import { contribution, initHash, keyHashOf } from '../../src/hash/index.js';
import { TicTacTree } from '../../src/tictac/index.js';
import { KeystoreStore } from '../../src/connect/keystore-store.js';
import { startFollowing, waitFor } from './keystore-helpers.js';
import { redisClient } from '../support/redis.js';
import { aae } from '../cli/helpers.js';
import { expectTreesEqualRebuild, keystoreHashes, tempDir } from './pg-helpers.js';

/**
 * A keystore of a real Redis Cluster (3 masters, each with a replica, started by the test): one
 * feed per master, masters found from the cluster; its tree is the XOR of per-master trees; and
 * when a replica takes over from its master (CLUSTER FAILOVER), the changed masters are a gap: the
 * keystore is rebuilt over the new masters, then followed on.
 */

let cluster: LocalRedisCluster;
let dir: { path: string; dispose(): Promise<void> };
type Cluster = ReturnType<typeof createCluster>;
let c: Cluster;

beforeAll(async () => {
  await initHash();
  dir = await tempDir();
  cluster = await startLocalRedisCluster(3, 1);
  c = createCluster({ rootNodes: [{ url: cluster.url }] });
  c.on('error', () => undefined);
  await c.connect();
}, 120_000);
afterAll(async () => {
  await c?.close().catch(() => undefined);
  await cluster?.stop();
  await dir?.dispose();
});

/** Every key of the glob on every master, read afresh (key → hash), and which master holds it. */
async function expected(ks: string): Promise<{ hashes: Map<string, number>; byMaster: Map<string, string[]> }> {
  const spec = (await readSourceSpec(ks)).source;
  if (spec.engine !== 'redis') throw new Error('a Redis keystore');
  const t = await RedisTopology.open(spec, cluster.nodes.map((n) => n.url));
  const hashes = new Map<string, number>();
  const byMaster = new Map<string, string[]>();
  try {
    for (const m of t.masters) {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, names] = await m.run<[Buffer, Buffer[]]>(['SCAN', cursor, 'MATCH', 'ck:*', 'COUNT', '1000']);
        cursor = next.toString();
        for (const n of names) {
          const v = await readValue(m, n, null, false);
          if (v !== null) {
            hashes.set(n.subarray(3).toString(), v.digest.hash);
            keys.push(n.subarray(3).toString());
          }
        }
      } while (cursor !== '0');
      byMaster.set(m.url, keys);
    }
  } finally {
    await t.close();
  }
  return { hashes, byMaster };
}

test('3 masters: one feed each, trees merged by XOR, followed through a failover', async () => {
  for (let i = 0; i < 2_000; i++) await c.set(`ck:${i}`, `v${i}`);
  const ks = join(dir.path, 'cluster');
  const spec = await connectRedis(ks, { url: cluster.url, match: 'ck:*' });
  expect(spec.source.engine === 'redis' && spec.source.cluster).toBe(true);
  const f = await startFollowing(ks);
  try {
    await f.caughtUp();
    for (let i = 0; i < 300; i++) await c.set(`ck:${i * 7}`, `changed ${i}`);
    for (let i = 0; i < 50; i++) await c.del(`ck:${i * 11 + 1}`);
    await f.caughtUp();
    // A failover: a replica of one master takes over (CLUSTER FAILOVER on it, as an operator or a
    // sentinel-less upgrade does); the old master becomes its replica and stops seeing writes.
    const before = await masterPorts(ks);
    const replica = cluster.nodes.find((n) => !before.includes(n.port) && n.url !== cluster.url)!;
    const r = await redisClient(replica.url);
    try {
      await r.sendCommand(['CLUSTER', 'FAILOVER']);
    } finally {
      await r.close();
    }
    await waitFor('the replica to be a master', async () => (await masterPorts(ks)).includes(replica.port));
    await waitFor('the gap', () => f.logs.some((l) => l.code === 'CN004'));
    await waitFor('the rebuild over the new masters', () => f.logs.filter((l) => l.code === 'CN002').length >= 2, 400);
    for (let i = 0; i < 100; i++) await c.set(`ck:after-${i}`, `after ${i}`);
    await f.caughtUp();
  } finally {
    await f.stop();
  }
  expect(f.logs.find((l) => l.code === 'CN004')!.message).toMatch(/masters changed/);
  expect((await readState(ks)).reliable).toBe(true);
  const { hashes, byMaster } = await expected(ks);
  expect(byMaster.size).toBe(3);
  for (const keys of byMaster.values()) expect(keys.length).toBeGreaterThan(300);
  expect(await keystoreHashes(ks, 'ck')).toEqual(hashes);
  await expectTreesEqualRebuild(ks, 'ck');
  // The keystore's tree is the XOR of the trees of each master's keys.
  const store = await KeystoreStore.open(ks, 'ck');
  try {
    let whole = TicTacTree.create('large');
    for (const v of store.cluster.vnodes()) for (const ix of v.indexNs) whole = whole.merge(await v.fetchTree(ix));
    const perMaster = await Promise.all([...byMaster.values()].map((keys) => treeOf(store, keys)));
    expect(perMaster.reduce((a, b) => a.merge(b)).equals(whole)).toBe(true);
  } finally {
    await store.close();
  }
}, 240_000);

async function masterPorts(ks: string): Promise<number[]> {
  const t = await RedisTopology.open((await readSourceSpec(ks)).source as never, cluster.nodes.map((n) => n.url));
  try {
    return t.masters.map((m) => Number(new URL(m.url).port));
  } finally {
    await t.close();
  }
}

/** The tree of some keys as the keystore holds them (one tree over all its vnodes). */
async function treeOf(store: KeystoreStore, keys: string[]): Promise<TicTacTree> {
  const heads = await store.read(keys.map((k) => Buffer.from(k)));
  const tree = TicTacTree.create('large');
  heads.forEach((h, i) => {
    if (h === null) return;
    const kh = keyHashOf('ck', Buffer.from(keys[i]!), 0);
    tree.add(kh.segment32, contribution(kh.alt, h.hash));
  });
  return tree;
}

test('aae repair writes into a Redis Cluster keystore through the master of each key (WATCH/MULTI per master), and the two compare in sync', async () => {
  const src = join(dir.path, 'rk-source');
  const ks = join(dir.path, 'rk-cache');
  const made = await aae('cluster', 'create', src, '--nodes', '1', '--ring-size', '8', '--n-val', '1', '--hash-method', 'value', '--seed', '0', '--tree-size', 'large');
  expect(made.code, made.stderr).toBe(0);
  const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ bucket: 'rk', key: `k${i}`, value: `v${i}` }));
  const file = join(dir.path, 'rk.jsonl');
  await writeFile(file, `${lines.join('\n')}\n`);
  expect((await aae('load', src, file)).code).toBe(0);
  // The cache holds half of them, some stale, spread over the masters by slot.
  for (let i = 0; i < 60; i += 2) await c.set(`rk:k${i}`, i % 3 === 0 ? 'stale' : `v${i}`);
  expect((await aae('connect', ks, cluster.url, '--match', 'rk:*')).code).toBe(0);
  expect((await aae('follow', ks, '--once')).code).toBe(0);
  expect((await aae('compare', src, ks, '--pause-ms', '0')).code).toBe(1);
  const rep = await aae('repair', src, ks, '--pause-ms', '0', '--conflict-log', join(dir.path, 'rk-conflicts.jsonl'), '--json');
  expect(rep.code, rep.stderr).toBe(0);
  expect(rep.json()).toMatchObject({ inSync: true, policy: 'source', direction: 'to-sink', totals: { skipped: 0 } });
  for (let i = 0; i < 60; i++) expect(await c.get(`rk:k${i}`)).toBe(`v${i}`);
  expect((await aae('compare', src, ks, '--pause-ms', '0')).code).toBe(0);
}, 120_000);
