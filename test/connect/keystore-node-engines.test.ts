import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { etcdClient } from '../../src/connect/etcd/etcd-connection.js';
import { connectEtcd } from '../../src/connect/etcd/etcd-connect.js';
import { KeystoreCluster } from '../../src/connect/keystore-cluster.js';
import { connectRedis } from '../../src/connect/redis/redis-connect.js';
import { initHash, objectHashOfValue } from '../../src/hash/index.js';
import type { Head, NodeService } from '../../src/node/index.js';
import { loopbackNode } from '../../src/testing/index.js';
import { redisClient, useEtcd, useRedis, type Redis } from '../support/redis.js';
import { tempDir } from './pg-helpers.js';

/**
 * A keystore node over Redis and over etcd, through the loopback codec: compare-and-set writes
 * (ifHeld, erases) into the engine, `previous` as the value found, read-your-writes (the head
 * right after the answer is the written value's, however many writes in a row), objects read as
 * canonical bytes (a Redis hash stays a hash), the clocks each engine gives (etcd: positions,
 * Redis: hashes), and a key outside a Redis keystore's glob refused.
 */

const redis = useRedis();
const etcd = useEtcd();
let dir: { path: string; dispose(): Promise<void> };
let c: Redis;
let n = 0;
const open: KeystoreCluster[] = [];
const h = (s: string | Uint8Array): number => objectHashOfValue(typeof s === 'string' ? Buffer.from(s) : s, 0);
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

beforeAll(async () => {
  await initHash();
  dir = await tempDir();
  c = await redisClient(redis.server.url);
});
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});
afterAll(async () => {
  await c.close();
  await dir.dispose();
});

async function node(connect: (ks: string) => Promise<unknown>): Promise<{ cluster: KeystoreCluster; node: NodeService }> {
  const ks = join(dir.path, `ks${n++}`);
  await connect(ks);
  const cluster = await KeystoreCluster.open(ks, { source: 'follow', wrapNode: loopbackNode, retryMs: 100 });
  open.push(cluster);
  return { cluster, node: cluster.node('n1') };
}

/** Helpers over one key of a keystore node. */
function on(cluster: KeystoreCluster, nd: NodeService, bucket: string) {
  const vnode = (key: string) => cluster.preflistOf(bucket, b(key))[0]!;
  return {
    head: async (key: string): Promise<Head | null> => (await nd.readHeads({ vnode: vnode(key), keys: [{ bucket, key: b(key) }] })).heads[0] ?? null,
    put: (key: string, value: Uint8Array, ifHeld?: { hash: number; deleted: boolean } | null) =>
      nd.write({
        vnode: vnode(key),
        writes: [{ op: { kind: 'put', object: { bucket, key: b(key), clock: { entries: [['x', 1]], lastModified: 1 }, value, deleted: false, indexes: [] }, ...(ifHeld === undefined ? {} : { ifHeld }) } }],
      }),
    erase: (key: string, ifHash?: number) => nd.write({ vnode: vnode(key), writes: [{ op: { kind: 'erase', bucket, key: b(key), ...(ifHash === undefined ? {} : { ifHash }) } }] }),
    read: async (key: string) => (await nd.readObjects({ vnode: vnode(key), keys: [{ bucket, key: b(key) }] })).objects[0] ?? null,
  };
}

test('Redis: compare-and-set writes, previous, read-your-writes, canonical reads of a hash, hash clocks, a key outside the glob refused', async () => {
  await c.set('app:1', 'one');
  await c.hSet('app:h', { f: 'x', g: 'y' });
  const { cluster, node: nd } = await node((ks) => connectRedis(ks, { url: redis.server.url, match: 'app:*' }));
  const k = on(cluster, nd, 'app');
  const info = await nd.info();
  expect(info.capabilities).toMatchObject({ writes: true, erasesDeletes: true });
  expect(info.keystore).toMatchObject({ engine: 'redis', reliable: true, following: true });

  const held = (await k.head('1'))!;
  expect(held.hash).toBe(h('one'));
  expect(held.clock.entries[0]![0]).toMatch(/^#/); // no positions in Redis: hash clocks

  // Stale: nothing written; previous is what is there.
  const stale = await k.put('1', b('stale'), { hash: h('other'), deleted: false });
  expect(stale.previous[0]).toMatchObject({ hash: h('one') });
  expect(await c.get('app:1')).toBe('one');
  // The version the decision saw: written, and the keystore holds it when the answer comes.
  const done = await k.put('1', b('two'), { hash: held.hash, deleted: false });
  expect(done.previous[0]).toEqual(held);
  expect(await c.get('app:1')).toBe('two');
  expect((await k.head('1'))!.hash).toBe(h('two'));
  // A value changed behind the keystore's back is found as such (its hash, a hash clock).
  await c.set('app:1', 'live');
  const raced = await k.put('1', b('late'), { hash: h('two'), deleted: false });
  expect(await c.get('app:1')).toBe('live');
  expect(raced.previous[0]!.hash).toBe(h('live'));

  // A hash reads as its canonical bytes; written to a new key, it is a hash again.
  const hashObj = (await k.read('h'))!;
  expect(hashObj.object.value[0]).toBe(0xf8);
  await k.put('h2', hashObj.object.value, null);
  expect(await c.type('app:h2')).toBe('hash');
  expect(await c.hGetAll('app:h2')).toEqual({ f: 'x', g: 'y' });
  expect((await k.head('h2'))!.hash).toBe(hashObj.hash);

  // Erase under a condition.
  await k.erase('h2', h('nope'));
  expect(await c.exists('app:h2')).toBe(1);
  await k.erase('h2', hashObj.hash);
  expect(await c.exists('app:h2')).toBe(0);
  expect(await k.head('h2')).toBeNull();

  // A key its glob does not match: refused, nothing written (a write there no feed would see).
  const { cluster: c2, node: n2 } = await node((ks) => connectRedis(ks, { url: redis.server.url, match: 'user:*:p', bucket: 'users', slot: `glob${n}` }));
  const u = on(c2, n2, 'users');
  await u.put('1:p', b('v'), null);
  expect(await c.get('user:1:p')).toBe('v');
  await expect(u.put('1:q', b('v'), null)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  expect(await c.exists('user:1:q')).toBe(0);
});

test('Redis: read-your-writes holds for every write of a random run (a law over sequences of puts and erases)', async () => {
  const { cluster, node: nd } = await node((ks) => connectRedis(ks, { url: redis.server.url, match: 'ryw:*', bucket: 'ryw' }));
  const k = on(cluster, nd, 'ryw');
  const op = fc.record({ key: fc.constantFrom('a', 'b', 'c'), value: fc.option(fc.string({ maxLength: 8 }), { nil: null }) });
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 15 }), async (ops) => {
      for (const o of ops) {
        if (o.value === null) await k.erase(o.key);
        else await k.put(o.key, b(o.value));
        const head = await k.head(o.key);
        expect(head === null ? null : head.hash).toBe(o.value === null ? null : h(o.value));
      }
    }),
    { numRuns: 10 },
  );
});

test('Redis, served with rebuilds: writes made while its notification connection is killed (a gap, a rebuild, a swap) are still read back before they are answered', async () => {
  const ks = join(dir.path, `ks${n++}`);
  await connectRedis(ks, { url: redis.server.url, match: 'gap:*', bucket: 'gap' });
  const cluster = await KeystoreCluster.open(ks, { source: 'follow', rebuilds: true, wrapNode: loopbackNode, retryMs: 50 });
  open.push(cluster);
  const k = on(cluster, cluster.node('n1'), 'gap');
  for (let round = 0; round < 4; round++) {
    await c.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    // Right away, while the feed finds the gap, rebuilds and swaps (or is about to).
    for (let i = 0; i < 5; i++) {
      const value = `round ${round} write ${i}`;
      await k.put(`k${i}`, b(value));
      expect((await k.head(`k${i}`))?.hash, value).toBe(h(value));
    }
  }
  expect((await cluster.node('n1').info()).keystore).toMatchObject({ following: true });
}, 60_000);

test('etcd: compare-and-set writes with position clocks; a later write is a later position; read-your-writes', async () => {
  const e = etcdClient([etcd.server.endpoint]);
  try {
    await e.put('/app/1').value('one').exec();
    const { cluster, node: nd } = await node((ks) => connectEtcd(ks, { url: etcd.server.url, prefix: '/app/' }));
    const k = on(cluster, nd, 'app');
    expect((await nd.info()).keystore).toMatchObject({ engine: 'etcd', following: true });
    const held = (await k.head('1'))!;
    expect(held.clock.entries[0]![0]).toMatch(/^@[0-9a-f]{16}$/);
    await k.put('1', b('x'), { hash: h('nope'), deleted: false });
    expect(await e.get('/app/1').string()).toBe('one');
    const done = await k.put('1', new Uint8Array([0, 1, 255]), { hash: held.hash, deleted: false });
    expect(done.previous[0]).toEqual(held);
    expect([...(await e.get('/app/1').buffer())!]).toEqual([0, 1, 255]);
    const now = (await k.head('1'))!;
    expect(now.hash).toBe(h(new Uint8Array([0, 1, 255])));
    expect(now.clock.entries[0]![0]).toBe(held.clock.entries[0]![0]);
    expect(now.clock.entries[0]![1]).toBeGreaterThan(held.clock.entries[0]![1]);
    // Expected absent but present: skipped; a new key expected absent: written.
    await k.put('1', b('y'), null);
    expect((await k.head('1'))!.hash).toBe(now.hash);
    await k.put('2', b('two'), null);
    expect((await k.head('2'))!.hash).toBe(h('two'));
    await k.erase('2', h('two'));
    expect(await e.get('/app/2').string()).toBeNull();
    expect(await k.head('2')).toBeNull();
    const obj = (await k.read('1'))!;
    expect([...obj.object.value]).toEqual([0, 1, 255]);
  } finally {
    e.close();
  }
});
