import { afterAll, beforeAll } from 'vitest';
import { createClient } from 'redis';
import { startLocalRedis, type LocalRedis, type LocalRedisOptions } from '../../src/connect/redis/local-redis.js';
import { startLocalEtcd, type LocalEtcd } from '../../src/connect/etcd/local-etcd.js';
import { RedisNode } from '../../src/connect/redis/redis-connection.js';
import { initHash } from '../../src/hash/index.js';

/** A private redis-server for one test file (real, on a free loopback port), stopped after its last test. */
export function useRedis(options: LocalRedisOptions = {}): { server: LocalRedis } {
  const env = { server: undefined as unknown as LocalRedis };
  beforeAll(async () => {
    env.server = await startLocalRedis(options);
  }, 60_000);
  afterAll(async () => {
    await env.server?.stop();
  });
  return env;
}

/** A private etcd for one test file. */
export function useEtcd(): { server: LocalEtcd } {
  const env = { server: undefined as unknown as LocalEtcd };
  beforeAll(async () => {
    env.server = await startLocalEtcd();
  }, 60_000);
  afterAll(async () => {
    await env.server?.stop();
  });
  return env;
}

export type Redis = ReturnType<typeof createClient>;

/** A plain client for the test's own writes; closed by the caller. */
export async function redisClient(url: string): Promise<Redis> {
  const c = createClient({ url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/**
 * A private redis-server with a plain client for the test's own writes and a RedisNode (the
 * keystore's connection) on it, for a file that reads values as the keystore does; the hash is
 * ready. `c` and `node` are set in beforeAll.
 */
export function useRedisNode(): { server: LocalRedis; c: Redis; node: RedisNode } {
  const redis = useRedis();
  const env = { c: undefined as unknown as Redis, node: undefined as unknown as RedisNode, get server() { return redis.server; } };
  beforeAll(async () => {
    await initHash();
    env.c = await redisClient(redis.server.url);
    env.node = await RedisNode.connect(redis.server.url);
  });
  afterAll(async () => {
    await env.node?.close();
    await env.c?.close();
  });
  return env;
}
