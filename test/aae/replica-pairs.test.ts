import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { preflist } from '../../src/cluster/index.js';
import { replicaPairs } from '../../src/aae/replica-pairs.js';

describe('replicaPairs', () => {
  test('every (keyspace, replica pair) is compared exactly once', () => {
    fc.assert(
      fc.property(fc.constantFrom(8, 16, 32, 64, 128), fc.integer({ min: 1, max: 5 }), (ringSize, nVal) => {
        const ring = { ringSize, nVal };
        const seen = new Map<string, number>();
        for (const p of replicaPairs(ring)) {
          for (const k of p.keyspaces) {
            const pre = preflist(k, ring);
            expect(pre).toContain(p.a);
            expect(pre).toContain(p.b);
            const key = `${k}:${Math.min(p.a, p.b)}-${Math.max(p.a, p.b)}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          }
        }
        let expected = 0;
        for (let k = 0; k < ringSize; k++) {
          const pre = preflist(k, ring);
          for (let i = 0; i < pre.length; i++)
            for (let j = i + 1; j < pre.length; j++) {
              expected++;
              expect(seen.get(`${k}:${Math.min(pre[i]!, pre[j]!)}-${Math.max(pre[i]!, pre[j]!)}`)).toBe(1);
            }
        }
        expect(seen.size).toBe(expected);
        if (2 * (nVal - 1) < ringSize) expect(replicaPairs(ring).length).toBe(ringSize * (nVal - 1));
      }),
    );
  });

  test('ring 8, nVal 3: vnode 0 pairs with 1 over {0, 7} and with 2 over {0}', () => {
    const pairs = replicaPairs({ ringSize: 8, nVal: 3 }).filter((p) => p.a === 0);
    expect(pairs).toEqual([
      { a: 0, b: 1, keyspaces: [0, 7] },
      { a: 0, b: 2, keyspaces: [0] },
    ]);
  });
});
