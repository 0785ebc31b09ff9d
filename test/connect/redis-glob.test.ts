import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { globMatches } from '../../src/connect/redis/redis-spec.js';
import { redisClient, useRedis, type Redis } from '../support/redis.js';

/**
 * A Redis keystore node refuses keys outside its glob (a write there would land where no feed
 * sees it). The law: globMatches agrees with Redis's own matcher (KEYS) on every glob and name.
 */

const redis = useRedis();
let c: Redis;
beforeAll(async () => {
  c = await redisClient(redis.server.url);
  await c.select(7);
});
afterAll(async () => {
  await c.close();
});

const names = fc.uniqueArray(fc.array(fc.constantFrom('a', 'b', 'c', '*', '-', ']', 'é'), { maxLength: 5 }).map((x) => x.join('')), { minLength: 1, maxLength: 12 });
const globs = fc.array(fc.constantFrom('a', 'b', '*', '?', '[a-b]', '[^a]', '[b-a]', '\\*', '[\\]]', 'é', '[ac]'), { minLength: 1, maxLength: 5 }).map((x) => x.join(''));

test('law: globMatches answers as Redis matches (KEYS), bytes and classes included', async () => {
  await fc.assert(
    fc.asyncProperty(globs, names, async (glob, keys) => {
      await c.flushDb();
      for (const k of keys) await c.set(k, '1');
      const redisSays = (await c.keys(glob)).sort();
      const weSay = keys.filter((k) => globMatches(glob, Buffer.from(k))).sort();
      expect(weSay, glob).toEqual(redisSays);
    }),
    { numRuns: 200 },
  );
});
