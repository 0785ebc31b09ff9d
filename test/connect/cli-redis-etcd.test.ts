import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { etcdClient } from '../../src/connect/etcd/etcd-connection.js';
import { aae } from '../cli/helpers.js';
import { redisClient, useEtcd, useRedis, type Redis } from '../support/redis.js';
import { tempDir } from './pg-helpers.js';

/**
 * aae connect, aae follow and aae compare on Redis and etcd keystores: the engine is chosen by the
 * URL, options of another engine are refused, and a Redis cache and an etcd copy of the same keys
 * compare equal (both hash a value as exactly its bytes) until one drifts.
 */

const redis = useRedis();
const etcd = useEtcd();
let dir: { path: string; dispose(): Promise<void> };
let r: Redis;

beforeAll(async () => {
  dir = await tempDir();
  r = await redisClient(redis.server.url);
});
afterAll(async () => {
  await r.close();
  await dir.dispose();
});

test('connect by URL, follow --once, compare a Redis cache with an etcd copy of the same keys', async () => {
  const e = etcdClient([etcd.server.endpoint]);
  try {
    for (let i = 0; i < 50; i++) {
      await r.set(`app:${i}`, `value ${i}`);
      await e.put(`/app/${i}`).value(`value ${i}`).exec();
    }
    const rks = join(dir.path, 'redis');
    const eks = join(dir.path, 'etcd');
    const c1 = await aae('connect', rks, redis.server.url, '--match', 'app:*', '--json');
    expect(c1.code, c1.stderr).toBe(0);
    expect(c1.json<{ spec: { bucket: string; source: { engine: string; prefix: string } } }>().spec).toMatchObject({ bucket: 'app', source: { engine: 'redis', prefix: 'app:' } });
    const c2 = await aae('connect', eks, etcd.server.url, '--prefix', '/app/');
    expect(c2.code, c2.stderr).toBe(0);
    expect(c2.stdout).toMatch(/keys under '\/app\/'.*bucket 'app'/);
    expect((await aae('follow', rks, '--once')).code).toBe(0);
    expect((await aae('follow', eks, '--once')).code).toBe(0);
    expect((await aae('compare', rks, eks)).code).toBe(0);
    await r.set('app:7', 'drifted');
    await e.delete().key('/app/8').exec();
    expect((await aae('follow', rks, '--once')).code).toBe(0);
    expect((await aae('follow', eks, '--once')).code).toBe(0);
    const cmp = await aae('compare', rks, eks, '--json');
    expect(cmp.code).toBe(1);
    expect(cmp.json<{ differences: Array<{ key: string }> }>().differences.map((d) => d.key).sort()).toEqual(['7', '8']);
    const status = await aae('follow', rks, '--status', '--json');
    expect(status.json<{ reliable: boolean }>().reliable).toBe(true);
  } finally {
    e.close();
  }
});

test('bad input: options of another engine, a missing prefix, notifications off, exit 2 and nothing created', async () => {
  const bad = join(dir.path, 'bad');
  const mixed = await aae('connect', bad, redis.server.url, '--table', 'kv');
  expect(mixed.code).toBe(2);
  expect(mixed.stderr).toMatch(/--table do not apply to a redis source/);
  const noPrefix = await aae('connect', bad, etcd.server.url);
  expect(noPrefix.code).toBe(2);
  expect(noPrefix.stderr).toMatch(/needs --prefix/);
  const noBucket = await aae('connect', bad, redis.server.url, '--match', '*');
  expect(noBucket.code).toBe(2);
  expect(noBucket.stderr).toMatch(/give --bucket.*\[CONNECT_SPEC_INVALID\]/);
  await r.configSet('notify-keyspace-events', '');
  try {
    const off = await aae('connect', bad, redis.server.url, '--match', 'x:*');
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/notify-keyspace-events KA.*\[SOURCE_INVALID\]/);
  } finally {
    await r.configSet('notify-keyspace-events', 'KA');
  }
  expect((await aae('follow', bad, '--status')).code).toBe(2);
  // Nothing listens on port 1: exit 3, a readable cause, no empty tail of gRPC's text.
  const down = await aae('connect', bad, 'etcd://127.0.0.1:1', '--prefix', '/app/');
  expect(down.code).toBe(3);
  expect(down.stderr).toMatch(/ECONNREFUSED 127\.0\.0\.1:1 \[SOURCE_UNAVAILABLE\]/);
  expect(down.stderr).not.toContain('Resolution note');
});
