import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectRedis } from '../../src/connect/redis/redis-connect.js';
import { writeRedis } from '../../src/connect/redis/redis-repair.js';
import { RedisChangeSource } from '../../src/connect/redis/redis-source.js';
import { canonicalRowBytes } from '../../src/connect/row-bytes.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';
import { initHash, objectHashOfValue } from '../../src/hash/index.js';
import { redisClient, useRedis, type Redis } from '../support/redis.js';
import { tempDir } from './pg-helpers.js';

/**
 * The two library pieces a keystore node serves from Redis: reading current values as canonical
 * bytes with their hash (and expiry), and writes that land only while a key still holds the value
 * whose hash the decision saw (WATCH, read and hash, MULTI/EXEC). Tested against writes racing in
 * between, on a real server.
 */

const redis = useRedis();
let dir: { path: string; dispose(): Promise<void> };
let c: Redis;

beforeAll(async () => {
  await initHash();
  dir = await tempDir();
  c = await redisClient(redis.server.url);
});
afterAll(async () => {
  await c.close();
  await dir.dispose();
});

const h = (text: string): number => objectHashOfValue(canonicalRowBytes([text]), 0);
const key = (k: string): Uint8Array => Buffer.from(k);

async function sourceFor(name: string, options: { match: string; fields?: string[] }): Promise<RedisChangeSource> {
  const ks = join(dir.path, name);
  await connectRedis(ks, { url: redis.server.url, ...options });
  const spec = (await readSourceSpec(ks)).source;
  if (spec.engine !== 'redis') throw new Error('a Redis keystore');
  return new RedisChangeSource(spec);
}

test('writes land only over the value the decision saw; a value changed since, or a key that appeared, is skipped', async () => {
  const src = await sourceFor('cas', { match: 'c:*' });
  try {
    await c.set('c:same', 'old');
    await c.set('c:raced', 'old');
    await c.set('c:del', 'x');
    await c.set('c:ttl', 'v', { PX: 60_000 });
    await c.set('c:appeared', 'someone else');
    const [same, , , ttl] = await src.readValues(['same', 'raced', 'del', 'ttl'].map(key));
    expect(same!.digest.hash).toBe(h('old'));
    expect(Buffer.from(same!.bytes!).toString()).toBe('old');
    expect(same!.expiresAt).toBeNull();
    expect(ttl!.expiresAt).toBeGreaterThan(Date.now());
    await c.set('c:raced', 'a live write after the decision');
    const r = await writeRedis(src, [
      { key: key('same'), expect: h('old'), value: { row: ['new'] } },
      { key: key('raced'), expect: h('old'), value: { row: ['repair'] } },
      { key: key('del'), expect: h('x'), value: null },
      { key: key('absent'), expect: null, value: { row: ['created'] }, ttlMs: 30_000 },
      { key: key('appeared'), expect: null, value: { row: ['repair'] } },
      { key: key('never'), expect: null, value: null },
    ]);
    expect(r.outcomes).toEqual(['written', 'skipped', 'written', 'written', 'skipped', 'written']);
    expect(await c.mGet(['c:same', 'c:raced', 'c:del', 'c:absent', 'c:appeared'])).toEqual(['new', 'a live write after the decision', null, 'created', 'someone else']);
    expect(await c.pTTL('c:absent')).toBeGreaterThan(0);
  } finally {
    await src.close();
  }
});

test('a write landing between the check and EXEC aborts the transaction (WATCH): the live write stands', async () => {
  const src = await sourceFor('race', { match: 'r:*' });
  try {
    await c.set('r:1', 'old');
    await c.set('r:2', 'old');
    const r = await writeRedis(
      src,
      [
        { key: key('1'), expect: h('old'), value: { row: ['repair'] } },
        { key: key('2'), expect: h('old'), value: null },
      ],
      { beforeExec: async (k) => void (await c.set(`r:${Buffer.from(k).toString()}`, 'live')) },
    );
    expect(r.outcomes).toEqual(['skipped', 'skipped']);
    expect(await c.mGet(['r:1', 'r:2'])).toEqual(['live', 'live']);
  } finally {
    await src.close();
  }
});

test('under a fields mapping a row refreshes a hash; a DUMP payload restores any type', async () => {
  const src = await sourceFor('fields', { match: 'u:*', fields: ['name', 'city'] });
  try {
    await c.hSet('u:1', { name: 'Ann', city: 'Leeds', extra: 'kept out of the hash' });
    const [before] = await src.readValues([key('1')]);
    expect(before!.digest.hash).toBe(objectHashOfValue(canonicalRowBytes(['Ann', 'Leeds']), 0));
    const r = await writeRedis(src, [
      { key: key('1'), expect: before!.digest.hash, value: { row: ['Ann', null] } },
      { key: key('2'), expect: null, value: { row: ['Bo', 'York'] } },
    ]);
    expect(r.written).toBe(2);
    expect(await c.hGetAll('u:1')).toEqual({ name: 'Ann' });
    expect(await c.hGetAll('u:2')).toEqual({ name: 'Bo', city: 'York' });
    await c.zAdd('zsrc', [{ score: 1, value: 'a' }]);
    const dump = (await c.sendCommand(['DUMP', 'zsrc'], { typeMapping: { 36: Buffer } } as never)) as Buffer;
    const plain = await sourceFor('dump', { match: 'd:*' });
    try {
      expect((await writeRedis(plain, [{ key: key('z'), expect: null, value: { dump } }])).written).toBe(1);
      expect(await c.zRangeWithScores('d:z', 0, -1)).toEqual([{ value: 'a', score: 1 }]);
    } finally {
      await plain.close();
    }
  } finally {
    await src.close();
  }
});
