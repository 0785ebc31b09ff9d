import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { etcdClient } from '../../src/connect/etcd/etcd-connection.js';
import { initHash } from '../../src/hash/index.js';
import { aae } from '../cli/helpers.js';
import { usePostgres } from '../support/postgres.js';
import { redisClient, useEtcd, useRedis, type Redis } from '../support/redis.js';
import { dropSlots, sql, tempDir } from './pg-helpers.js';

/**
 * Is the cache still telling the truth about the database? A PostgreSQL keystore and a Redis (or
 * etcd) keystore holding the same rows compare equal when they hash the same fields:
 * - the plain case needs no mapping: a table (id, val) with --columns val equals Redis strings
 *   kv:<id> holding val's text (--match 'kv:*' --bucket kv), and etcd keys /kv/<id> likewise;
 * - a hash caches a row of several columns under a fields mapping (--fields name,city).
 * Through the CLI: `aae compare` reports exactly the cache entries that went stale, missing or
 * extra; `aae repair` (one-way, the database wins, by default when a keystore is involved) writes
 * the rows into the cache through the keystore nodes, deleting what the database deleted; then
 * the two compare in sync and the cache holds exactly the table.
 */

const pgs = usePostgres();
const redis = useRedis();
const etcd = useEtcd();
let dir: { path: string; dispose(): Promise<void> };
let c: Redis;
let n = 0;

beforeAll(async () => {
  await initHash();
  dir = await tempDir();
  c = await redisClient(redis.server.url);
});
afterAll(async () => {
  await c.close();
  await dir.dispose();
});

async function follow(...dirs: string[]): Promise<void> {
  for (const d of dirs) {
    const r = await aae('follow', d, '--once');
    expect(r.code, r.stderr).toBe(0);
  }
}

/** `aae compare --json`: the differing keys with who is ahead, and the exit code. */
async function compare(a: string, b: string): Promise<{ code: number; ahead: Record<string, string> }> {
  const r = await aae('compare', a, b, '--pause-ms', '0', '--max-results', '10000', '--json');
  expect([0, 1], r.stderr).toContain(r.code);
  const differences = r.json<{ differences: Array<{ key: string; ahead: string }> }>().differences;
  return { code: r.code, ahead: Object.fromEntries(differences.map((d) => [d.key, d.ahead])) };
}

/** `aae repair --json` with the defaults a keystore brings (one-way, source wins). */
async function repair(a: string, b: string): Promise<{ inSync: boolean; policy: string; direction: string; totals: Record<string, number> }> {
  const r = await aae('repair', a, b, '--pause-ms', '0', '--conflict-log', join(dir.path, `conflicts-${n++}.jsonl`), '--json');
  expect(r.code, r.stderr).toBe(0);
  return r.json();
}

async function table(url: string): Promise<Record<string, string>> {
  return Object.fromEntries((await sql(url, 'SELECT id, val FROM kv ORDER BY id')).rows.map((r) => [r.id as string, r.val as string]));
}

async function cacheOf(prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const batch of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    for (const name of batch) out[name.slice(prefix.length)] = (await c.get(name))!;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

test('a table (id, val) and Redis strings kv:<id>: aae compare finds the stale, evicted, deleted and extra entries, aae repair refreshes the cache, compare is in sync', async () => {
  const url = await pgs.db('cross');
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text NOT NULL, noise int)');
  await sql(url, "INSERT INTO kv SELECT 'k' || i, 'value ' || i, i FROM generate_series(1, 500) i");
  for (let i = 1; i <= 500; i++) await c.set(`kv:k${i}`, `value ${i}`);
  const pgDir = join(dir.path, 'pg');
  const cacheDir = join(dir.path, 'cache');
  expect((await aae('connect', pgDir, url, '--table', 'kv', '--columns', 'val')).code).toBe(0);
  expect((await aae('connect', cacheDir, redis.server.url, '--match', 'kv:*', '--bucket', 'kv')).code).toBe(0);
  await follow(pgDir, cacheDir);
  expect((await compare(pgDir, cacheDir)).code).toBe(0);

  // The cache drifts: a stale entry, an evicted one, one the database deleted, one it never had.
  await sql(url, "UPDATE kv SET val = 'fresh' WHERE id = 'k7'");
  await c.del('kv:k8');
  await sql(url, "DELETE FROM kv WHERE id = 'k9'");
  await c.set('kv:k999', 'only in the cache');
  await sql(url, "UPDATE kv SET noise = -1 WHERE id = 'k10'"); // not a hashed column: no difference
  await follow(pgDir, cacheDir);
  const found = await compare(pgDir, cacheDir);
  expect(found.code).toBe(1);
  // Two databases' versions are concurrent (rows carry no causality across engines); an absence is one side's alone.
  expect(found.ahead).toEqual({ k7: 'both', k8: 'source', k9: 'sink', k999: 'sink' });

  const report = await repair(pgDir, cacheDir);
  expect(report).toMatchObject({ inSync: true, policy: 'source', direction: 'to-sink' });
  expect(report.totals).toMatchObject({ copied: 1, resolved: 3, writes: 4, skipped: 0 });
  expect(await c.get('kv:k7')).toBe('fresh');
  expect(await c.get('kv:k8')).toBe('value 8');
  expect(await c.exists(['kv:k9', 'kv:k999'])).toBe(0);
  expect(await cacheOf('kv:')).toEqual(await table(url));
  // The keystores agree as they stand, and after following their sources again.
  expect((await compare(pgDir, cacheDir)).code).toBe(0);
  await follow(pgDir, cacheDir);
  expect((await compare(pgDir, cacheDir)).code).toBe(0);

  // aae sync does the same on a schedule: one check now, one-way by default.
  await sql(url, "UPDATE kv SET val = 'synced' WHERE id IN ('k1', 'k2')");
  await sql(url, "DELETE FROM kv WHERE id = 'k3'");
  const sync = await aae('sync', pgDir, cacheDir, '--once', 'all', '--pause-ms', '0', '--state', join(dir.path, 'cache-sync.json'), '--json');
  expect(sync.code, sync.stderr).toBe(0);
  expect(JSON.parse(sync.stdout.trim().split('\n').at(-1)!)).toMatchObject({ outcome: 'repaired' });
  expect(await cacheOf('kv:')).toEqual(await table(url));
  await dropSlots(url);
});

test('a row of several columns and a Redis hash of the same fields: compare under a fields mapping, repair rewrites the mapped fields', async () => {
  const url = await pgs.db('cross_fields');
  await sql(url, 'CREATE TABLE users (id text PRIMARY KEY, name text, city text, created timestamptz DEFAULT now())');
  await sql(url, "INSERT INTO users (id, name, city) VALUES ('1', 'Ann', 'Leeds'), ('2', 'Bo', NULL), ('3', 'Cy', 'York')");
  await c.hSet('user:1', { name: 'Ann', city: 'Leeds', cachedAt: '123' });
  await c.hSet('user:2', { name: 'Bo' });
  await c.hSet('user:3', { name: 'Cy', city: 'Hull' });
  const pgDir = join(dir.path, 'users-pg');
  const cacheDir = join(dir.path, 'users-cache');
  expect((await aae('connect', pgDir, url, '--table', 'users', '--columns', 'name,city')).code).toBe(0);
  expect((await aae('connect', cacheDir, redis.server.url, '--match', 'user:*', '--bucket', 'users', '--fields', 'name,city')).code).toBe(0);
  await follow(pgDir, cacheDir);
  expect((await compare(pgDir, cacheDir)).ahead).toEqual({ '3': 'both' });
  expect((await repair(pgDir, cacheDir)).totals).toMatchObject({ resolved: 1, writes: 1 });
  expect(await c.hGetAll('user:3')).toEqual({ name: 'Cy', city: 'York' });
  // A hash whose mapped fields agree is not touched: its other fields stay.
  expect(await c.hGetAll('user:1')).toEqual({ name: 'Ann', city: 'Leeds', cachedAt: '123' });
  expect((await compare(pgDir, cacheDir)).code).toBe(0);
  await dropSlots(url);
});

/** One way a copy drifts from its table: a key's value changed, removed, or one only the copy has. */
type Drift = { kind: 'stale' | 'evicted' | 'extra'; key: number };
const drifts = fc.uniqueArray(fc.record({ kind: fc.constantFrom<Drift['kind']>('stale', 'evicted', 'extra'), key: fc.integer({ min: 1, max: 40 }) }), { selector: (d) => d.key, maxLength: 12 });

test('property: whatever the drift of an etcd copy and a Redis cache of one table, aae repair (table → etcd → Redis) leaves each holding exactly the table', async () => {
  const e = etcdClient([etcd.server.endpoint]);
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(drifts, drifts, fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 6 }), async (etcdDrift, redisDrift, changed) => {
        const i = run++;
        const url = await pgs.db(`prop${i}`);
        const [ep, rp] = [`/p${i}/`, `p${i}:`];
        await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text NOT NULL)');
        await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i FROM generate_series(1, 30) i");
        for (let k = 1; k <= 30; k++) {
          await e.put(`${ep}k${k}`).value(`v${k}`).exec();
          await c.set(`${rp}k${k}`, `v${k}`);
        }
        const [pgDir, etcdDir, cacheDir] = ['pg', 'etcd', 'redis'].map((x) => join(dir.path, `prop${i}-${x}`)) as [string, string, string];
        expect((await aae('connect', pgDir, url, '--table', 'kv')).code).toBe(0);
        expect((await aae('connect', etcdDir, etcd.server.url, '--prefix', ep, '--bucket', 'kv')).code).toBe(0);
        expect((await aae('connect', cacheDir, redis.server.url, '--match', `${rp}*`, '--bucket', 'kv')).code).toBe(0);
        // The table moves on (some keys only in the table, keys 31..40), and the copies drift.
        for (const k of changed) await sql(url, "INSERT INTO kv VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET val = EXCLUDED.val", [`k${k}`, `changed ${k}`]);
        for (const d of etcdDrift) {
          if (d.kind === 'evicted') await e.delete().key(`${ep}k${d.key}`).exec();
          else await e.put(`${ep}k${d.key}`).value(`${d.kind} in etcd`).exec();
        }
        for (const d of redisDrift) {
          if (d.kind === 'evicted') await c.del(`${rp}k${d.key}`);
          else await c.set(`${rp}k${d.key}`, `${d.kind} in redis`);
        }
        await follow(pgDir, etcdDir);
        await repair(pgDir, etcdDir);
        const want = await table(url);
        const inEtcd = Object.fromEntries(Object.entries(await e.getAll().prefix(ep).strings()).map(([k, v]) => [k.slice(ep.length), v]));
        expect(inEtcd).toEqual(want);
        expect((await compare(pgDir, etcdDir)).code).toBe(0);
        // etcd as the source, Redis as the sink: no PostgreSQL in the way.
        await follow(etcdDir, cacheDir);
        await repair(etcdDir, cacheDir);
        expect(await cacheOf(rp)).toEqual(want);
        expect((await compare(etcdDir, cacheDir)).code).toBe(0);
        await dropSlots(url);
      }),
      { numRuns: 4, endOnFailure: true },
    );
  } finally {
    e.close();
  }
}, 300_000);
