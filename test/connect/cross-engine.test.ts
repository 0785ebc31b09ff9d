import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { compareClusters } from '../../src/aae/index.js';
import { KeystoreStore } from '../../src/connect/keystore-store.js';
import { connectPostgres } from '../../src/connect/pg/pg-connect.js';
import { PgChangeSource } from '../../src/connect/pg/pg-source.js';
import { connectRedis } from '../../src/connect/redis/redis-connect.js';
import { writeRedis } from '../../src/connect/redis/redis-repair.js';
import { RedisChangeSource } from '../../src/connect/redis/redis-source.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';
import { initHash } from '../../src/hash/index.js';
import { usePostgres } from '../support/postgres.js';
import { redisClient, useRedis, type Redis } from '../support/redis.js';
import { followOnce, sql, tempDir } from './pg-helpers.js';

/**
 * Is the cache still telling the truth about the database? A PostgreSQL keystore and a Redis
 * keystore caching the same rows compare equal when they hold the same fields:
 * - the plain case needs no mapping: a table (id, val) with --columns val equals Redis strings
 *   kv:<id> holding val's text (--match 'kv:*' --bucket kv);
 * - a hash caches a row of several columns under a fields mapping (--fields name,city).
 * A compare reports exactly the cache entries that went stale, missing or extra; and the repair
 * pieces (read the row from the database, write it into the cache only over the value the
 * decision saw) refresh them, after which the two compare in sync.
 */

const pgs = usePostgres();
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

async function differences(a: string, b: string, bucket: string): Promise<string[]> {
  const ka = await KeystoreStore.open(a, bucket);
  const kb = await KeystoreStore.open(b, bucket);
  try {
    const r = await compareClusters(ka.cluster, kb.cluster, { pauseMs: 0, maxResults: 10_000 });
    return r.differences.map((d) => Buffer.from(d.key).toString()).sort();
  } finally {
    await ka.close();
    await kb.close();
  }
}

/** What `aae repair --conflict source` will do through keystore nodes: each differing key's row, written into the cache over what the cache holds now. */
async function refreshCache(pgDir: string, redisDir: string, keys: string[]): Promise<number> {
  const pgSpec = (await readSourceSpec(pgDir)).source;
  const rSpec = (await readSourceSpec(redisDir)).source;
  if (pgSpec.engine !== 'postgresql' || rSpec.engine !== 'redis') throw new Error('a PostgreSQL and a Redis keystore');
  const db = new PgChangeSource(pgSpec);
  const cache = new RedisChangeSource(rSpec);
  try {
    const bytes = keys.map((k) => Buffer.from(k));
    const rows = await db.fetchRows(bytes);
    const held = await cache.readValues(bytes);
    const r = await writeRedis(
      cache,
      bytes.map((key, i) => ({ key, expect: held[i]?.digest.hash ?? null, value: rows[i] === null ? null : { row: rows[i]!.values } })),
    );
    return r.written;
  } finally {
    await db.close();
    await cache.close();
  }
}

test('a table (id, val) and Redis strings kv:<id> compare equal with no mapping; stale, missing and extra entries are exactly the differences; refreshing the cache brings them in sync', async () => {
  const url = await pgs.db('cross');
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text NOT NULL, noise int)');
  await sql(url, "INSERT INTO kv SELECT 'k' || i, 'value ' || i, i FROM generate_series(1, 500) i");
  for (let i = 1; i <= 500; i++) await c.set(`kv:k${i}`, `value ${i}`);
  const pgDir = join(dir.path, 'pg');
  const cacheDir = join(dir.path, 'cache');
  await connectPostgres(pgDir, { url, table: 'kv', columns: ['val'] });
  await connectRedis(cacheDir, { url: redis.server.url, match: 'kv:*', bucket: 'kv' });
  await followOnce(pgDir);
  await followOnce(cacheDir);
  expect(await differences(pgDir, cacheDir, 'kv')).toEqual([]);

  // The cache drifts: a stale entry, an evicted one, one the database deleted, one it never had.
  await sql(url, "UPDATE kv SET val = 'fresh' WHERE id = 'k7'");
  await c.del('kv:k8');
  await sql(url, "DELETE FROM kv WHERE id = 'k9'");
  await c.set('kv:k999', 'only in the cache');
  await sql(url, "UPDATE kv SET noise = -1 WHERE id = 'k10'"); // not a hashed column: no difference
  await followOnce(pgDir);
  await followOnce(cacheDir);
  const diff = await differences(pgDir, cacheDir, 'kv');
  expect(diff).toEqual(['k7', 'k8', 'k9', 'k999']);

  expect(await refreshCache(pgDir, cacheDir, diff)).toBe(4);
  await followOnce(cacheDir);
  expect(await differences(pgDir, cacheDir, 'kv')).toEqual([]);
  expect(await c.get('kv:k7')).toBe('fresh');
  expect(await c.exists(['kv:k9', 'kv:k999'])).toBe(0);
});

test('a row of several columns and a Redis hash of the same fields compare equal under a fields mapping', async () => {
  const url = await pgs.db('cross_fields');
  await sql(url, 'CREATE TABLE users (id text PRIMARY KEY, name text, city text, created timestamptz DEFAULT now())');
  await sql(url, "INSERT INTO users (id, name, city) VALUES ('1', 'Ann', 'Leeds'), ('2', 'Bo', NULL), ('3', 'Cy', 'York')");
  await c.hSet('user:1', { name: 'Ann', city: 'Leeds', cachedAt: '123' });
  await c.hSet('user:2', { name: 'Bo' });
  await c.hSet('user:3', { name: 'Cy', city: 'Hull' });
  const pgDir = join(dir.path, 'users-pg');
  const cacheDir = join(dir.path, 'users-cache');
  await connectPostgres(pgDir, { url, table: 'users', columns: ['name', 'city'] });
  await connectRedis(cacheDir, { url: redis.server.url, match: 'user:*', bucket: 'users', fields: ['name', 'city'] });
  await followOnce(pgDir);
  await followOnce(cacheDir);
  expect(await differences(pgDir, cacheDir, 'users')).toEqual(['3']);
  expect(await refreshCache(pgDir, cacheDir, ['3'])).toBe(1);
  await followOnce(cacheDir);
  expect(await differences(pgDir, cacheDir, 'users')).toEqual([]);
  expect(await c.hGetAll('user:3')).toEqual({ name: 'Cy', city: 'York' });
});
