import fc from 'fast-check';
import { expect, test } from 'vitest';
import { openRedisStream, type RedisSubscription } from '../../src/connect/redis/redis-feed.js';

/**
 * A Redis feed with nothing pending says so at once the first time at a tick (a `follow --once`
 * after a build waited 250 ms to learn it had nothing to do), and only waits for notifications
 * before a second idle answer at the same tick (a follower with nothing to do polls, it does not spin).
 */

/** A subscription of notices at ticks; `wait` records that the stream waited, and lets `arrive` notices in. */
function fakeSub(): { sub: RedisSubscription; waits: number; arrive(n: number): void } {
  const queue: Array<{ key: Buffer; at: number; tick: number }> = [];
  const clock = { tick: 0 };
  const env = {
    waits: 0,
    arrive(n: number) {
      for (let i = 0; i < n; i++) queue.push({ key: Buffer.from(`k${clock.tick}`), at: Date.now(), tick: ++clock.tick });
    },
    sub: {
      name: 'fake',
      broken: null,
      get now() {
        return clock.tick;
      },
      after: (position: number, max: number) => queue.filter((q) => q.tick > position).slice(0, max),
      wait: async () => {
        env.waits++;
      },
      breakWith: () => undefined,
    } as unknown as RedisSubscription,
  };
  return env;
}

test('law: after any run of notices, the first idle answer comes without waiting, the next at the same tick after one', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 8 }), async (bursts) => {
      const f = fakeSub();
      const stream = openRedisStream(f.sub, 0, async () => null);
      let delivered = 0;
      for (const [i, burst] of [0, ...bursts].entries()) {
        f.arrive(burst);
        let b = await stream.next();
        while (b.kind === 'transactions') {
          delivered = Number(b.transactions.at(-1)!.position);
          b = await stream.next();
        }
        // Caught up at this tick, and (a tick not answered idle before) no wait spent learning it.
        expect(b).toEqual({ kind: 'idle', position: String(f.sub.now) });
        expect(f.waits).toBe(i === 0 || burst > 0 ? 0 : 1);
        if (burst > 0) expect(delivered).toBe(f.sub.now);
        const waited = f.waits;
        expect(await stream.next()).toEqual({ kind: 'idle', position: String(f.sub.now) });
        expect(f.waits).toBe(waited + 1);
        f.waits = 0;
      }
    }),
  );
});
