import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonicalClock, compareBytes, utf8, type ClockEntry } from '../../src/hash/index.js';
import {
  compareActors,
  compareClocks,
  concurrent,
  counterOf,
  descends,
  dominates,
  emptyClock,
  equalClocks,
  increment,
  makeClock,
  MAX_TIME_MS,
  mergeClocks,
  type Clock,
} from '../../src/cluster/clock.js';
import { codeOf } from '../support/errors.js';

// Few actors and small counters, so that random pairs are often equal, ordered or concurrent — all
// three cases get exercised. The actors include astral and high-BMP characters, where code-point
// order and UTF-16 order disagree.
const ACTORS = ['a', 'b', 'node-1', 'é', '\uFFFD', '😀'];
const arbClock: fc.Arbitrary<Clock> = fc
  .tuple(
    fc.uniqueArray(fc.tuple(fc.constantFrom(...ACTORS), fc.integer({ min: 0, max: 3 })), {
      selector: ([actor]) => actor,
      maxLength: ACTORS.length,
    }),
    fc.integer({ min: 0, max: 1000 }),
  )
  .map(([entries, lm]) => makeClock(entries, lm));

const RUNS = { numRuns: 300 };

describe('partial-order laws', () => {
  test('descends is reflexive', () => {
    fc.assert(fc.property(arbClock, (a) => descends(a, a)), RUNS);
  });

  test('descends is antisymmetric (up to equalClocks)', () => {
    fc.assert(
      fc.property(arbClock, arbClock, (a, b) => {
        if (descends(a, b) && descends(b, a)) expect(equalClocks(a, b)).toBe(true);
      }),
      RUNS,
    );
  });

  test('descends is transitive', () => {
    fc.assert(
      fc.property(arbClock, arbClock, arbClock, (a, b, c) => {
        // Build a chain that surely holds, plus the random triple.
        const ab = mergeClocks(a, b);
        const abc = mergeClocks(ab, c);
        expect(descends(abc, ab) && descends(ab, a) && descends(abc, a)).toBe(true);
        if (descends(a, b) && descends(b, c)) expect(descends(a, c)).toBe(true);
      }),
      RUNS,
    );
  });

  test('descends matches its pointwise definition', () => {
    fc.assert(
      fc.property(arbClock, arbClock, (a, b) => {
        const pointwise = ACTORS.every((x) => counterOf(a, x) >= counterOf(b, x));
        expect(descends(a, b)).toBe(pointwise);
      }),
      RUNS,
    );
  });

  test('dominates is exactly descends && !equal; concurrent is neither descending', () => {
    fc.assert(
      fc.property(arbClock, arbClock, (a, b) => {
        expect(dominates(a, b)).toBe(descends(a, b) && !equalClocks(a, b));
        expect(concurrent(a, b)).toBe(!descends(a, b) && !descends(b, a));
      }),
      RUNS,
    );
  });

  test('compareClocks gives exactly one of four outcomes, consistent with the predicates and its mirror', () => {
    const mirror = { equal: 'equal', left: 'right', right: 'left', concurrent: 'concurrent' } as const;
    fc.assert(
      fc.property(arbClock, arbClock, (a, b) => {
        const holds = [equalClocks(a, b), dominates(a, b), dominates(b, a), concurrent(a, b)];
        expect(holds.filter(Boolean)).toHaveLength(1);
        const r = compareClocks(a, b);
        expect(r).toBe(['equal', 'left', 'right', 'concurrent'][holds.indexOf(true)]);
        expect(compareClocks(b, a)).toBe(mirror[r]);
      }),
      RUNS,
    );
  });

  test('equalClocks ignores lastModified', () => {
    fc.assert(
      fc.property(arbClock, fc.integer({ min: 0, max: 10_000 }), (a, t) => {
        expect(equalClocks(a, makeClock(a.entries, t))).toBe(true);
        expect(compareClocks(a, makeClock(a.entries, t))).toBe('equal');
      }),
      RUNS,
    );
  });
});

describe('merge is the least upper bound', () => {
  test('descends both, and every common upper bound descends it', () => {
    fc.assert(
      fc.property(arbClock, arbClock, arbClock, (a, b, c) => {
        const m = mergeClocks(a, b);
        expect(descends(m, a) && descends(m, b)).toBe(true);
        if (descends(c, a) && descends(c, b)) expect(descends(c, m)).toBe(true);
        expect(m.lastModified).toBe(Math.max(a.lastModified, b.lastModified));
      }),
      RUNS,
    );
  });

  test('commutative, associative, idempotent (entries and lastModified)', () => {
    const same = (x: Clock, y: Clock) => {
      expect(equalClocks(x, y)).toBe(true);
      expect(x.lastModified).toBe(y.lastModified);
    };
    fc.assert(
      fc.property(arbClock, arbClock, arbClock, (a, b, c) => {
        same(mergeClocks(a, b), mergeClocks(b, a));
        same(mergeClocks(mergeClocks(a, b), c), mergeClocks(a, mergeClocks(b, c)));
        same(mergeClocks(a, a), a);
      }),
      RUNS,
    );
  });

  test('merging with a descendant gives the descendant; with the empty clock, itself', () => {
    fc.assert(
      fc.property(arbClock, arbClock, (a, b) => {
        if (descends(a, b)) expect(equalClocks(mergeClocks(a, b), a)).toBe(true);
        expect(equalClocks(mergeClocks(a, emptyClock()), a)).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('increment', () => {
  test('dominates its input, bumps exactly one actor by one, keeps normal form', () => {
    fc.assert(
      fc.property(arbClock, fc.constantFrom(...ACTORS, 'zz', 'A'), fc.integer({ min: 0, max: 2000 }), (a, actor, now) => {
        const b = increment(a, actor, now);
        expect(dominates(b, a)).toBe(true);
        expect(counterOf(b, actor)).toBe(counterOf(a, actor) + 1);
        for (const x of ACTORS) if (x !== actor) expect(counterOf(b, x)).toBe(counterOf(a, x));
        expect(b.entries).toEqual(makeClock(b.entries, 0).entries);
        expect(b.lastModified).toBe(Math.max(a.lastModified, now));
      }),
      RUNS,
    );
  });

  test('two actors incrementing one ancestor are concurrent; merging and incrementing resolves them', () => {
    const base = increment(null, 'a', 10);
    const x = increment(base, 'a', 20);
    const y = increment(base, 'b', 30);
    expect(compareClocks(x, y)).toBe('concurrent');
    const resolved = increment(mergeClocks(x, y), 'c', 40);
    expect(compareClocks(resolved, x)).toBe('left');
    expect(compareClocks(y, resolved)).toBe('right');
  });

  test('from null: one entry at 1', () => {
    expect(increment(null, 'n1', 5)).toEqual({ entries: [['n1', 1]], lastModified: 5 });
    expect(increment(emptyClock(), 'n1', 5)).toEqual({ entries: [['n1', 1]], lastModified: 5 });
  });

  test('a descendant never looks older than its ancestor', () => {
    expect(increment(makeClock([['a', 1]], 100), 'a', 50).lastModified).toBe(100);
  });

  test('bad actor or time is CLOCK_INVALID', () => {
    expect(codeOf(() => increment(null, '', 1))).toBe('CLOCK_INVALID');
    expect(codeOf(() => increment(null, 'a', -1))).toBe('CLOCK_INVALID');
    expect(codeOf(() => increment(null, 'a', 1.5))).toBe('CLOCK_INVALID');
    expect(codeOf(() => increment(makeClock([['a', Number.MAX_SAFE_INTEGER]], 0), 'a', 1))).toBe('CLOCK_INVALID');
  });
});

describe('makeClock: validation and normal form', () => {
  test('sorts by actor in UTF-8 byte order (as canonicalClock does) and drops zeros', () => {
    const c = makeClock(
      [
        ['😀', 1],
        ['\uFFFD', 2],
        ['b', 0],
        ['a', 3],
      ],
      7,
    );
    expect(c).toEqual({
      entries: [
        ['a', 3],
        ['\uFFFD', 2],
        ['😀', 1],
      ],
      lastModified: 7,
    });
  });

  test('normal form hashes as canonicalClock does, whatever the input order', () => {
    fc.assert(
      fc.property(arbClock, fc.array(fc.nat()), (a, perm) => {
        const shuffled: ClockEntry[] = [...a.entries];
        perm.forEach((p, i) => {
          const j = p % shuffled.length;
          const k = i % Math.max(1, shuffled.length);
          if (shuffled.length > 0) [shuffled[j], shuffled[k]] = [shuffled[k]!, shuffled[j]!];
        });
        const c = makeClock(shuffled, 0);
        expect(c.entries).toEqual(a.entries);
        expect(canonicalClock(c.entries)).toEqual(canonicalClock(shuffled));
      }),
      RUNS,
    );
  });

  test('compareActors is the byte order of the UTF-8 encodings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (x, y) => {
        expect(Math.sign(compareActors(x, y))).toBe(Math.sign(compareBytes(utf8(x), utf8(y))));
      }),
      { numRuns: 500 },
    );
    expect(compareActors('\uFFFD', '😀')).toBeLessThan(0); // '\uFFFD' > '\uD83D' as UTF-16 units
  });

  test('a clock already in normal form keeps its entries, but in a list and pairs of its own', () => {
    const entries: Array<[string, number]> = [['a', 1], ['b', 2]];
    const c = makeClock(entries, 5);
    expect(c).toEqual({ entries: [['a', 1], ['b', 2]], lastModified: 5 });
    entries.push(['c', 3]);
    entries[1]![1] = 5; // the caller's pair, changed in place
    entries[0] = ['z', 9];
    expect(c.entries).toEqual([['a', 1], ['b', 2]]);
    // Sorted but not normal: still validated and normalised.
    expect(makeClock([['a', 0], ['b', 2]], 0).entries).toEqual([['b', 2]]);
    expect(codeOf(() => makeClock([['a', 1], ['b', -1]], 0))).toBe('CLOCK_INVALID');
    expect(codeOf(() => makeClock([['a', 1], ['a', 1]], 0))).toBe('CLOCK_INVALID');
  });

  test('bad entries are CLOCK_INVALID', () => {
    expect(codeOf(() => makeClock([['a', 1], ['a', 2]], 0))).toBe('CLOCK_INVALID');
    expect(codeOf(() => makeClock([['a', -1]], 0))).toBe('CLOCK_INVALID');
    expect(codeOf(() => makeClock([['a', 1.5]], 0))).toBe('CLOCK_INVALID');
    expect(() => makeClock([['a', '1' as unknown as number]], 0)).toThrow("got '1'"); // a string counter is quoted, a number is not
    expect(codeOf(() => makeClock([['a', Number.NaN]], 0))).toBe('CLOCK_INVALID');
    expect(codeOf(() => makeClock([['a', 2 ** 53]], 0))).toBe('CLOCK_INVALID');
    expect(codeOf(() => makeClock([['', 1]], 0))).toBe('CLOCK_INVALID');
    expect(codeOf(() => makeClock([['\uD800', 1]], 0))).toBe('CLOCK_INVALID'); // lone surrogate
    expect(codeOf(() => makeClock([['a', 1]], -5))).toBe('CLOCK_INVALID');
    // Beyond what a Date holds: it could be stored but never shown.
    expect(makeClock([['a', 1]], MAX_TIME_MS).lastModified).toBe(MAX_TIME_MS);
    expect(new Date(MAX_TIME_MS).toISOString()).toBe('+275760-09-13T00:00:00.000Z');
    expect(codeOf(() => makeClock([['a', 1]], MAX_TIME_MS + 1))).toBe('CLOCK_INVALID');
    expect(codeOf(() => increment(null, 'a', MAX_TIME_MS + 1))).toBe('CLOCK_INVALID');
    expect(codeOf(() => makeClock([['a', 1]], Number.NaN))).toBe('CLOCK_INVALID');
    expect(codeOf(() => makeClock([['a', '1'] as unknown as ClockEntry], 0))).toBe('CLOCK_INVALID');
    expect(codeOf(() => makeClock([['a'] as unknown as ClockEntry], 0))).toBe('CLOCK_INVALID');
  });

  test('an actor at zero has not acted: a zero duplicate is dropped before the duplicate check, as in canonicalClock', () => {
    expect(makeClock([['a', 0], ['a', 2]], 0).entries).toEqual([['a', 2]]);
    expect(() => canonicalClock([['a', 0], ['a', 2]])).not.toThrow();
  });
});
