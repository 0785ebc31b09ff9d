import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readState } from '../../src/connect/keystore-state.js';
import { connectRedis } from '../../src/connect/redis/redis-connect.js';
import { RedisNode } from '../../src/connect/redis/redis-connection.js';
import { readValue } from '../../src/connect/redis/redis-value.js';
import { isAaeError } from '../../src/errors.js';
import { initHash } from '../../src/hash/index.js';
import { redisClient, useRedis, type Redis } from '../support/redis.js';
import { startFollowing, waitFor } from './keystore-helpers.js';
import { expectTreesEqualRebuild, followOnce, keystoreHashes, tempDir } from './pg-helpers.js';

/**
 * A Redis keystore against a real redis-server: built from a SCAN while writes go on (subscribed
 * first, so none is lost), kept current from keyspace notifications (every type, deletes, expiry,
 * renames), and honest about what Redis cannot promise: a killed notification connection, a
 * restarted follower, notifications turned off are each a gap that rebuilds.
 */

const redis = useRedis();
let dir: { path: string; dispose(): Promise<void> };
let c: Redis;
let node: RedisNode;

beforeAll(async () => {
  await initHash();
  dir = await tempDir();
  c = await redisClient(redis.server.url);
  node = await RedisNode.connect(redis.server.url);
});
afterAll(async () => {
  await node.close();
  await c.close();
  await dir.dispose();
});

/** What the keystore must hold: every key of the glob, read and hashed afresh (key without the prefix → hash). */
async function expected(match: string, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, names] = await node.run<[Buffer, Buffer[]]>(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000']);
    cursor = next.toString();
    for (const name of names) {
      const v = await readValue(node, name, null, false);
      if (v !== null) out.set(name.subarray(Buffer.byteLength(prefix)).toString(), v.digest.hash);
    }
  } while (cursor !== '0');
  return out;
}

test('build while writes go on, follow every type, and a killed notification connection is a gap that rebuilds', async () => {
  const ks = join(dir.path, 'kv');
  for (let i = 0; i < 12_000; i += 1000) {
    const m = c.multi();
    for (let j = i; j < i + 1000; j++) m.set(`kv:${j}`, `value ${j}`);
    await m.exec();
  }
  await c.set('other:1', 'not kept');
  await connectRedis(ks, { url: redis.server.url, match: 'kv:*', bucket: 'kv' });
  // Writes made while the snapshot's SCAN is under way (after its first batch): updates, deletes, new keys.
  let during: Promise<unknown> | null = null;
  const f = await startFollowing(ks, {
    onProgress: (p) => {
      if (p.kind === 'scan' && during === null) {
        during = Promise.all([
          ...Array.from({ length: 200 }, (_, i) => c.set(`kv:${i * 53}`, `changed during the scan ${i}`)),
          ...Array.from({ length: 100 }, (_, i) => c.del(`kv:${i * 97 + 1}`)),
          ...Array.from({ length: 100 }, (_, i) => c.set(`kv:new:${i}`, `new ${i}`)),
        ]);
      }
    },
  });
  try {
    await f.caughtUp();
    expect(during).not.toBeNull();
    await during;
    // Every type, deletes, an expiry, a rename in and out of the glob.
    await c.hSet('kv:h', { a: '1', b: '2' });
    await c.rPush('kv:l', ['x', 'y']);
    await c.sAdd('kv:s', ['m', 'n']);
    await c.zAdd('kv:z', [{ score: 1, value: 'p' }]);
    await c.xAdd('kv:x', '*', { f: 'v' });
    await c.set('kv:gone', 'soon', { PX: 50 });
    await c.rename('kv:5', 'kv:renamed');
    await c.rename('kv:6', 'other:6');
    await c.set(Buffer.from('kv:\xff\x00bin', 'latin1'), Buffer.from([0, 1, 2, 255]));
    await waitFor('kv:gone to expire', async () => (await c.exists('kv:gone')) === 0);
    await f.caughtUp();
    // A killed notification connection: a gap, then a rebuild while writes go on.
    await c.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await c.set('kv:after-kill', 'x');
    await waitFor('a gap and a rebuild', () => f.logs.filter((l) => l.code === 'CN002').length >= 2);
    await c.set('kv:after-rebuild', 'y');
    await f.caughtUp();
  } finally {
    await f.stop();
  }
  const codes = f.logs.map((l) => l.code);
  expect(codes.filter((x) => x === 'CN004'), 'one gap: the killed connection').toHaveLength(1);
  expect(f.logs.find((l) => l.code === 'CN004')!.message).toMatch(/notification connection .* (closed|failed)/);
  expect((await readState(ks)).reliable).toBe(true);
  const want = await expected('kv:*', 'kv:');
  expect(want.has('new:99') && want.has('h') && want.has('renamed') && !want.has('5') && !want.has('6') && !want.has('gone')).toBe(true);
  expect(await keystoreHashes(ks, 'kv')).toEqual(want);
  await expectTreesEqualRebuild(ks, 'kv');
}, 180_000);

test('Redis keeps no change log: a follower that starts again rebuilds, and says why', async () => {
  const ks = join(dir.path, 'restart');
  await c.set('rs:1', 'a');
  await connectRedis(ks, { url: redis.server.url, match: 'rs:*' });
  expect((await followOnce(ks)).builds).toBe(1);
  await c.set('rs:2', 'missed while nobody listened');
  const again = await followOnce(ks);
  expect(again.builds).toBe(1);
  expect(again.gaps).toEqual([expect.stringMatching(/keeps no change log/)]);
  expect(await keystoreHashes(ks, 'rs')).toEqual(await expected('rs:*', 'rs:'));
});

test('notifications off: aae connect refuses and names the setting; turned off under a running follower, a gap', async () => {
  const ks = join(dir.path, 'notify');
  await c.configSet('notify-keyspace-events', '');
  try {
    const e = await connectRedis(ks, { url: redis.server.url, match: 'nf:*' }).catch((x: unknown) => x);
    expect(isAaeError(e, 'SOURCE_INVALID')).toBe(true);
    expect((e as Error).message).toMatch(/notify-keyspace-events KA/);
  } finally {
    await c.configSet('notify-keyspace-events', 'KA');
  }
  await connectRedis(ks, { url: redis.server.url, match: 'nf:*' });
  const f = await startFollowing(ks);
  let stopped: unknown;
  try {
    await f.caughtUp();
    await c.configSet('notify-keyspace-events', 'Kg');
    await waitFor('the gap', () => f.logs.some((l) => l.code === 'CN004'));
    // The rebuild cannot subscribe either: the follower stops by itself with the setting to change.
    await waitFor('the refused rebuild', () => f.failure !== null);
    stopped = await f.stop().catch((e: unknown) => e);
  } finally {
    await c.configSet('notify-keyspace-events', 'KA');
  }
  expect(f.logs.find((l) => l.code === 'CN004')!.message).toMatch(/notify-keyspace-events is 'gK'/);
  expect(isAaeError(stopped, 'SOURCE_INVALID')).toBe(true);
  expect((await readState(ks)).reliable).toBe(false);
});
