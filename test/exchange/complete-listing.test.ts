import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_WINDOW_SEGMENTS, MemorySource, compareClocks, runExchange, type KeyDelta } from '../../src/exchange/index.js';
import { initHash } from '../../src/hash/index.js';
import type { TreeSize } from '../../src/tictac/index.js';
import { clock, fastOptions } from './helpers.js';

/**
 * A complete listing (onDeltas): whatever the damage — a few keys, more segments than maxResults,
 * a large delta — the differences handed over are exactly the differences between the two sides'
 * key sets, each once, and the result keeps none of them.
 */
beforeAll(async () => {
  await initHash();
});

const id = (d: KeyDelta): string => `${d.bucket}/${Buffer.from(d.key).toString()}`;

interface Damage {
  n: number;
  missingOnPink: number[];
  missingOnBlue: number[];
  newerOnBlue: number[];
  tombOnPink: number[];
}

function build(treeSize: TreeSize, hashes: boolean, dmg: Damage): [MemorySource, MemorySource] {
  const blue = new MemorySource({ treeSize, hashes });
  const pink = new MemorySource({ treeSize, hashes });
  const skipBlue = new Set(dmg.missingOnBlue);
  const skipPink = new Set(dmg.missingOnPink);
  const newer = new Set(dmg.newerOnBlue);
  const tomb = new Set(dmg.tombOnPink);
  for (let i = 0; i < dmg.n; i++) {
    const key = `key${i}`;
    if (!skipBlue.has(i)) blue.put('b', key, clock('a', newer.has(i) ? 2 : 1));
    // A delete makes a new version: the tombstone's clock moves on (a tombstone under the very
    // same clock would hash the same, and no tree could see it).
    const deleted = tomb.has(i) && !newer.has(i);
    if (!skipPink.has(i)) pink.put('b', key, clock('a', deleted ? 3 : 1), deleted);
  }
  return [blue, pink];
}

/** The reference answer: the clock compare of every key of both sides. */
function expected(blue: MemorySource, pink: MemorySource): string[] {
  return compareClocks(blue.keyClocks(), pink.keyClocks()).map(id).sort();
}

async function listAll(blue: MemorySource, pink: MemorySource, maxResults: number): Promise<{ listed: string[]; windows: number; count: number; inSync: boolean; truncated: boolean; kept: number }> {
  const listed: string[] = [];
  let windows = 0;
  const r = await runExchange([blue], [pink], fastOptions({
    maxResults,
    largeDelta: 'report', // a complete listing walks through a large delta all the same
    onDeltas: async (ds) => {
      windows++;
      for (const d of ds) listed.push(id(d));
      await Promise.resolve();
    },
  }));
  return { listed: listed.sort(), windows, count: r.deltaCount, inSync: r.inSync, truncated: r.truncated, kept: r.deltas.length };
}

describe('complete listings (onDeltas)', () => {
  it('list exactly the differing keys, each once, whatever maxResults and the walk', async () => {
    const damage = fc.record({
      n: fc.integer({ min: 0, max: 600 }),
      missingOnPink: fc.array(fc.nat(599), { maxLength: 200 }),
      missingOnBlue: fc.array(fc.nat(599), { maxLength: 50 }),
      newerOnBlue: fc.array(fc.nat(599), { maxLength: 50 }),
      tombOnPink: fc.array(fc.nat(599), { maxLength: 50 }),
    });
    await fc.assert(
      fc.asyncProperty(damage, fc.constantFrom<TreeSize>('xxsmall', 'xsmall', 'small'), fc.boolean(), fc.integer({ min: 1, max: 8 }), async (dmg, size, hashes, maxResults) => {
        const [blue, pink] = build(size, hashes, dmg);
        const want = expected(blue, pink);
        const got = await listAll(blue, pink, maxResults);
        expect(got.listed).toEqual(want);
        expect(new Set(got.listed).size).toBe(got.listed.length);
        expect(got.count).toBe(want.length);
        expect(got.kept).toBe(0);
        expect(got.truncated).toBe(false);
        expect(got.inSync).toBe(want.length === 0);
      }),
      { numRuns: 60 },
    );
  });

  it('a capped exchange of the same damage lists only a window and says it was truncated', async () => {
    const [blue, pink] = build('medium', true, { n: 3000, missingOnPink: Array.from({ length: 400 }, (_, i) => i * 7), missingOnBlue: [], newerOnBlue: [], tombOnPink: [] });
    const capped = await runExchange([blue], [pink], fastOptions({ maxResults: 16 }));
    expect(capped.truncated).toBe(true);
    expect(capped.deltaCount).toBe(capped.deltas.length);
    expect(capped.deltaCount).toBeLessThan(400);
    const all = await listAll(blue, pink, 16);
    expect(all.count).toBe(400);
  });

  it('holds the clocks of at most one window of segments at a time', async () => {
    // Enough differing keys that their segments span several windows (xlarge-ish damage on a small tree).
    const n = 6000;
    const [blue, pink] = build('small', true, { n, missingOnPink: Array.from({ length: n }, (_, i) => i).filter((i) => i % 2 === 0), missingOnBlue: [], newerOnBlue: [], tombOnPink: [] });
    const asked: number[] = [];
    const spy = new Proxy(pink, {
      get(target, prop, receiver) {
        if (prop === 'fetchClocks') {
          return (scope: never, segments: readonly number[], o: never) => {
            asked.push(segments.length);
            return target.fetchClocks(scope, segments, o);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const listed: string[] = [];
    const r = await runExchange([blue], [spy as MemorySource], fastOptions({ onDeltas: (ds) => void listed.push(...ds.map(id)) }));
    expect(listed.length).toBe(n / 2);
    expect(r.deltaCount).toBe(n / 2);
    expect(asked.length).toBeGreaterThan(1);
    expect(Math.max(...asked)).toBeLessThanOrEqual(CLOCK_WINDOW_SEGMENTS);
  });
});
