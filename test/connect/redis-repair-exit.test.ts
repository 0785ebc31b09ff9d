import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RedisChangeSource } from '../../src/connect/redis/redis-source.js';
import { readSourceSpec } from '../../src/connect/index.js';
import { MAIN } from '../support/served.js';
import { usePostgres } from '../support/postgres.js';
import { redisClient, useRedis, type Redis } from '../support/redis.js';
import { aae } from '../cli/helpers.js';
import { sql, tempDir } from './pg-helpers.js';

/**
 * A repair from a PostgreSQL keystore into a Redis cache ends its process once it has answered.
 * It did not, when the table had moved on since the last follow and the cache held a key to
 * delete: the Redis change source's read connections were opened twice at once, one of them was
 * never closed, and the process lived on after printing its report (a new user's cron job hung).
 * The real CLI, in its own process.
 */

const pg = usePostgres();
const redis = useRedis();
let dir: { path: string; dispose(): Promise<void> };
let c: Redis;

beforeAll(async () => {
  dir = await tempDir();
  c = await redisClient(redis.server.url);
});
afterAll(async () => {
  await c.close();
  await dir.dispose();
});

/** Runs the built CLI; resolves with its exit code, or 'hung' when it is still running after `ms`. */
function run(args: string[], ms: number): Promise<{ code: number | 'hung'; stderr: string }> {
  return new Promise((resolve) => {
    // In the temp folder: a repair appends the losing versions to aae-conflicts.jsonl where it runs.
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir.path, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: 'hung', stderr });
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stderr });
    });
  });
}

test('concurrent asks for the Redis read connections share one set, and closing the source closes it', async () => {
  const ks = join(dir.path, 'topology');
  expect((await aae('connect', ks, redis.server.url, '--match', 'topo:*')).code).toBe(0);
  const spec = await readSourceSpec(ks);
  if (spec.source.engine !== 'redis') throw new Error('not a Redis keystore');
  const clients = async (): Promise<number> => String(await c.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length;
  const before = await clients();
  const source = new RedisChangeSource(spec.source);
  const all = await Promise.all([source.topology(), source.topology(), source.topology()]);
  expect(new Set(all).size).toBe(1);
  expect(await clients()).toBeGreaterThan(before);
  await source.close();
  // The server drops a closed connection from CLIENT LIST a moment after the client has gone.
  for (let i = 0; i < 100 && (await clients()) !== before; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await clients()).toBe(before);
});

test('aae repair from a table that moved on into a cache with a key to delete exits 0 after its report', async () => {
  const url = await pg.db('repair_exit');
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text NOT NULL)');
  await sql(url, "INSERT INTO kv SELECT 'k' || i, 'v' || i FROM generate_series(1, 50) i");
  for (let i = 1; i <= 50; i++) await c.set(`kv:k${i}`, `v${i}`);
  const db = join(dir.path, 'db');
  const cache = join(dir.path, 'cache');
  expect((await aae('connect', db, url, '--table', 'kv', '--columns', 'val')).code).toBe(0);
  expect((await aae('connect', cache, redis.server.url, '--match', 'kv:*', '--bucket', 'kv')).code).toBe(0);
  expect((await aae('follow', db, '--once')).code).toBe(0);
  expect((await aae('follow', cache, '--once')).code).toBe(0);
  const first = await aae('compare', db, cache);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  // Both at once: the table moves on after the keystore's last follow, and the cache holds a key the table does not.
  await sql(url, "UPDATE kv SET val = 'changed' WHERE id = 'k21'");
  await c.set('kv:extra', 'x');
  const r = await run(['repair', db, cache, '--quiet'], 60_000);
  expect(r.code, r.stderr).toBe(0);
  // It ended by itself: not by the CLI's net for commands that leave something open (which would exit 0 too, 2 s later).
  expect(r.stderr).not.toContain('still open');
  expect(await c.get('kv:k21')).toBe('changed');
  expect(await c.exists('kv:extra')).toBe(0);
}, 120_000);
