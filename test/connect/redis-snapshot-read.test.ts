import fc from 'fast-check';
import { expect, test } from 'vitest';
import { keyArg, RedisNode, type RedisArg } from '../../src/connect/redis/redis-connection.js';
import { SCAN_AHEAD, scanSteps } from '../../src/connect/redis/redis-source.js';
import type { RedisSourceSpec } from '../../src/connect/redis/redis-spec.js';
import { readBatch } from '../../src/connect/redis/redis-value.js';
import { useRedisNode } from '../support/redis.js';

/**
 * The snapshot's read path, made cheap without changing what it reads: keys go to Redis as the
 * same bytes whatever form the argument takes, and the SCAN runs ahead of the reads (the next
 * cursor asked for before this step's values) while every key is still read exactly once.
 */

const redis = useRedisNode();

/** The bytes node-redis writes for a string argument (RESP bulk strings are UTF-8 of the text). */
const wireBytes = (a: RedisArg): Buffer => (typeof a === 'string' ? Buffer.from(a, 'utf8') : a);

test('law: a key argument is written as exactly the key bytes (a string only for ASCII keys)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const key = Buffer.from(bytes);
      const arg = keyArg(key);
      expect(wireBytes(arg).equals(key)).toBe(true);
      expect(typeof arg === 'string').toBe(bytes.every((b) => b < 0x80));
    }),
    { numRuns: 2_000 },
  );
});

test('law: readBatch reads binary and ASCII keys alike, each as its own value', async () => {
  let round = 0;
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 30, selector: (k) => Buffer.from(k).toString('hex') }), async (raw) => {
      const tag = Buffer.from(`rb${round++}:`);
      const keys = raw.map((k) => Buffer.concat([tag, k]));
      for (const [i, k] of keys.entries()) await redis.c.set(k, Buffer.from(`v${i}\u00e9`));
      const read = await readBatch(redis.node, [...keys, Buffer.concat([tag, Buffer.from('missing\xff', 'latin1')])], null);
      expect(read.at(-1)).toBeNull();
      keys.forEach((_, i) => expect(Buffer.from(read[i]!.values[0] as Uint8Array).toString()).toBe(`v${i}\u00e9`));
    }),
    { numRuns: 25 },
  );
});

/** A fake master: SCAN over `keys` by index, COUNT at a time; every command answers on a later turn of the event loop, as a socket would; the order commands were sent in is recorded. */
function fakeNode(keys: Buffer[], count: number): { node: RedisNode; sent: string[] } {
  const sent: string[] = [];
  const run = (args: readonly RedisArg[]): Promise<unknown> => {
    const [cmd, a1] = args;
    sent.push(cmd === 'SCAN' ? `SCAN ${String(a1)}` : `${String(cmd)} ${wireBytes(a1!).toString('latin1')}`);
    return new Promise((resolve) =>
      setImmediate(() => {
        if (cmd === 'SCAN') {
          const at = Number(a1);
          const next = at + count >= keys.length ? 0 : at + count;
          sent.push('SCAN-REPLY');
          resolve([Buffer.from(String(next)), keys.slice(at, at + count)]);
        } else resolve(Buffer.from(`value of ${wireBytes(a1!).toString('latin1')}`));
      }),
    );
  };
  return { node: { run } as unknown as RedisNode, sent };
}

const spec = { match: '*', fields: null } as unknown as RedisSourceSpec;

test('law: the snapshot yields every key once, and asks for the next cursor before reading a step', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 3 }), async (n, count, slow) => {
      const keys = Array.from({ length: n }, (_, i) => Buffer.from(`k${i}`));
      const { node: fake, sent } = fakeNode(keys, count);
      const seen: string[] = [];
      for await (const step of scanSteps(fake, spec, undefined)) {
        sent.push('TAKEN');
        step.names.forEach((name, i) => {
          expect(Buffer.from(step.read[i]!.values[0] as Uint8Array).toString()).toBe(`value of ${name.toString()}`);
          seen.push(name.toString());
        });
        for (let i = 0; i < slow; i++) await new Promise((r) => setImmediate(r)); // a consumer that takes its time
      }
      expect(seen).toEqual(keys.map((k) => k.toString()));
      // Each step's reads go out after the SCAN of the step that follows it, unless the scan is
      // done or SCAN_AHEAD steps are already scanned and waiting to be taken.
      const scans = sent.flatMap((s, i) => (s.startsWith('SCAN ') ? [i] : []));
      let checked = 0;
      for (let j = 0; j + 1 < scans.length; j++) {
        const firstRead = sent.indexOf(`GETRANGE k${j * count}`); // step j's first key (the fake SCANs by index)
        if (firstRead < 0) continue;
        const before = sent.slice(0, firstRead);
        const waiting = before.filter((s) => s === 'SCAN-REPLY').length - before.filter((s) => s === 'TAKEN').length;
        if (waiting >= SCAN_AHEAD) continue;
        expect(scans[j + 1]!, sent.join(' | ')).toBeLessThan(firstRead);
        checked++;
      }
      if (n > 2 * count && slow === 0) expect(checked).toBeGreaterThan(0);
    }),
    { numRuns: 200 },
  );
});
