import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { canonicalRowBytes } from '../../src/connect/row-bytes.js';
import { MARK, readBatch, readValue, scoreText, STRING_CHUNK } from '../../src/connect/redis/redis-value.js';
import { objectHashOfValue } from '../../src/hash/index.js';
import { useRedisNode } from '../support/redis.js';

/**
 * Redis values hash as the canonical bytes docs/FORMAT.md gives for their type. The bytes are built
 * here by a model written from the document (not from the code), and the reader's streamed hash of
 * a real server's value must equal xxh32 of them; collections must hash the same whatever order
 * they were built in; a string longer than a chunk must hash as its whole bytes.
 */

const redis = useRedisNode();

const enc = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s) : s);
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const elem = (b: string | Buffer): Buffer => Buffer.concat([varint(enc(b).length), enc(b)]);
const sorted = (xs: Array<string | Buffer>): Buffer[] => xs.map(enc).sort(Buffer.compare);
const hashOf = (b: Uint8Array): number => objectHashOfValue(b, 0);

async function digest(key: string): Promise<{ hash: number; size: number } | undefined> {
  return (await readValue(redis.node, Buffer.from(key), null, false))?.digest;
}

test('every type hashes as its documented canonical bytes', async () => {
  await redis.c.set('s', 'hello');
  await redis.c.set('empty', '');
  await redis.c.hSet('h', { b: '2', a: '1', 'é': 'x' });
  await redis.c.rPush('l', ['z', 'a', 'z']);
  await redis.c.sAdd('set', ['b', 'a', 'c']);
  await redis.c.zAdd('z', [
    { score: 2, value: 'b' },
    { score: 0.1, value: 'a' },
    { score: 2, value: 'a2' },
  ]);
  await redis.c.xAdd('st', '1-1', { f: 'v' });
  await redis.c.xAdd('st', '2-1', { g: 'w', h: '' });
  const model: Record<string, Buffer> = {
    s: Buffer.from('hello'),
    empty: Buffer.alloc(0),
    h: Buffer.concat([Buffer.of(MARK.hash), ...sorted(['a', 'b', 'é']).flatMap((f) => [elem(f), elem({ a: '1', b: '2', 'é': 'x' }[f.toString()]!)])]),
    l: Buffer.concat([Buffer.of(MARK.list), elem('z'), elem('a'), elem('z')]),
    set: Buffer.concat([Buffer.of(MARK.set), elem('a'), elem('b'), elem('c')]),
    z: Buffer.concat([Buffer.of(MARK.zset), elem('a'), elem('0.1'), elem('a2'), elem('2'), elem('b'), elem('2')]),
    st: Buffer.concat([Buffer.of(MARK.stream), elem('1-1'), varint(1), elem('f'), elem('v'), elem('2-1'), varint(2), elem('g'), elem('w'), elem('h'), elem('')]),
  };
  for (const [k, bytes] of Object.entries(model)) expect(await digest(k), k).toEqual({ hash: hashOf(bytes), size: bytes.length });
  expect(await digest('missing')).toBeUndefined();
  // Kept bytes (what a repair reads) are the canonical bytes themselves.
  expect(Buffer.from((await readValue(redis.node, Buffer.from('h'), null, true))!.bytes!)).toEqual(model.h);
  // A string equals a database row of one text column; a hash under a fields mapping equals a row of those columns.
  expect((await digest('s'))!.hash).toBe(hashOf(canonicalRowBytes(['hello'])));
  const mapped = await readValue(redis.node, Buffer.from('h'), ['b', 'nope', 'a'], false);
  expect(mapped!.digest.hash).toBe(hashOf(canonicalRowBytes(['2', null, '1'])));
});

test('law: a hash or a set hashes the same whatever order its elements were added in', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 40 }), fc.integer(), async (members, seed) => {
      const shuffled = [...members].sort((a, b) => ((a.length * 31 + seed) % 7) - ((b.length * 31 + seed) % 7));
      const a = `law:a:${n}`;
      const b = `law:b:${n++}`;
      await redis.c.sAdd(a, members);
      await redis.c.sAdd(b, shuffled.reverse());
      await redis.c.hSet(`${a}:h`, Object.fromEntries(members.map((m) => [m, `v${m}`])));
      await redis.c.hSet(`${b}:h`, Object.fromEntries(shuffled.map((m) => [m, `v${m}`])));
      expect(await digest(a)).toEqual(await digest(b));
      expect(await digest(`${a}:h`)).toEqual(await digest(`${b}:h`));
    }),
    { numRuns: 30 },
  );
});

test('a big string is read in chunks and hashes as its whole bytes; a big hash beyond one HSCAN batch too', async () => {
  const big = Buffer.alloc(STRING_CHUNK * 2 + 12_345);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  await redis.c.set(Buffer.from('big'), big);
  expect(await digest('big')).toEqual({ hash: hashOf(big), size: big.length });
  const fields = Array.from({ length: 2_500 }, (_, i) => `f${i}`);
  await redis.c.hSet('bigh', Object.fromEntries(fields.map((f) => [f, f.toUpperCase()])));
  const bytes = Buffer.concat([Buffer.of(MARK.hash), ...sorted(fields).flatMap((f) => [elem(f), elem(f.toString().toUpperCase())])]);
  expect(await digest('bigh')).toEqual({ hash: hashOf(bytes), size: bytes.length });
  const list = Array.from({ length: 2_345 }, (_, i) => `e${i}`);
  await redis.c.rPush('bigl', list);
  const lbytes = Buffer.concat([Buffer.of(MARK.list), ...list.map(elem)]);
  expect(await digest('bigl')).toEqual({ hash: hashOf(lbytes), size: lbytes.length });
  // The snapshot's batch reader agrees with the one-key reader for every type and size.
  const keys = ['s', 'empty', 'h', 'l', 'set', 'z', 'st', 'big', 'bigh', 'missing'].map((k) => Buffer.from(k));
  const batch = await readBatch(redis.node, keys, null);
  for (const [i, k] of keys.entries()) {
    const one = await readValue(redis.node, k, null, false);
    const b = batch[i]!;
    expect(b === null ? null : (b.digest ?? { hash: hashOf(canonicalRowBytes(b.values)), size: canonicalRowBytes(b.values).length }), k.toString()).toEqual(one?.digest ?? null);
  }
});

test('scores are canonical: the shortest text that reads back as the same double', () => {
  expect(scoreText(Buffer.from('0.10000000000000001')).toString()).toBe('0.1');
  expect(scoreText(Buffer.from('inf')).toString()).toBe('inf');
  expect(scoreText(Buffer.from('-inf')).toString()).toBe('-inf');
  expect(scoreText(Buffer.from('3')).toString()).toBe('3');
  // Redis prints %.17g, which reads back exactly: any finite double becomes its shortest text.
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        expect(scoreText(Buffer.from(d.toPrecision(17))).toString()).toBe(String(d));
      }),
  );
});

test('the frozen vectors (fixtures/redis-values-v1.json): each value built by its commands reads as its bytes and hash', async () => {
  const { vectors } = JSON.parse(readFileSync(new URL('../../fixtures/redis-values-v1.json', import.meta.url), 'utf8')) as {
    vectors: Array<{ name: string; fields?: string[]; commands: Array<Array<string | { hex: string }>>; type: string; hex: string; hashSeed0: number; size: number }>;
  };
  expect(vectors.length).toBeGreaterThanOrEqual(9);
  for (const v of vectors) {
    await redis.c.del('vec');
    for (const cmd of v.commands) await redis.node.run(cmd.map((a, i) => (i === 1 ? 'vec' : typeof a === 'string' ? a : Buffer.from(a.hex, 'hex'))));
    const r = await readValue(redis.node, Buffer.from('vec'), v.fields ?? null, true);
    expect({ type: r!.type, hex: Buffer.from(r!.bytes!).toString('hex'), hash: r!.digest.hash, size: r!.digest.size }, v.name).toEqual({ type: v.type, hex: v.hex, hash: v.hashSeed0, size: v.size });
    expect(hashOf(Buffer.from(v.hex, 'hex')), v.name).toBe(v.hashSeed0);
  }
});
