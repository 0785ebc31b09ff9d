import { afterAll, beforeAll } from 'vitest';
import { createClient } from 'redis';
import { startLocalRedis, type LocalRedis, type LocalRedisOptions } from '../../src/connect/redis/local-redis.js';
import { startLocalEtcd, type LocalEtcd } from '../../src/connect/etcd/local-etcd.js';

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
