import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { descends, equalClocks, makeClock, type Clock } from '../../src/cluster/clock.js';
import { aheadOf, resolveVersions, type ConflictPolicy, type Version } from '../../src/repair/decide.js';
import { versionHashOf } from '../support/versions.js';

const clock = (entries: Array<[string, number]>, lm = 0): Clock => makeClock(entries, lm);
const v = (entries: Array<[string, number]>, lm = 0, deleted = false): Version => {
  const c = clock(entries, lm);
  return { clock: c, deleted, hash: versionHashOf(c.entries, deleted) };
};

const versionArb: fc.Arbitrary<Version> = fc
  .record({
    a: fc.integer({ min: 0, max: 3 }),
    b: fc.integer({ min: 0, max: 3 }),
    c: fc.integer({ min: 0, max: 2 }),
    lm: fc.integer({ min: 0, max: 3 }),
    deleted: fc.boolean(),
  })
  .filter((r) => r.a + r.b + r.c > 0)
  .map((r) => v([['a', r.a], ['b', r.b], ['c', r.c]], r.lm, r.deleted));
const placesArb = fc.array(fc.option(versionArb, { nil: null }), { minLength: 1, maxLength: 5 });
const policyArb = fc.constantFrom<ConflictPolicy>('lww', 'source', 'sink', 'report');

/** What every place holds after applying a resolution. */
function apply(places: ReadonlyArray<Version | null>, policy: ConflictPolicy, preferred?: readonly number[]): Array<Version | null> {
  const r = resolveVersions(places, policy, preferred);
  if (r.kind !== 'write') return [...places];
  const w = { clock: r.clock, deleted: places[r.winner]!.deleted, hash: versionHashOf(r.clock.entries, places[r.winner]!.deleted) };
  return places.map((p, i) => (r.targets.includes(i) ? w : p));
}

describe('resolveVersions', () => {
  test('examples: dominance copies, concurrency asks the policy', () => {
    expect(resolveVersions([v([['a', 2]]), v([['a', 1]])], 'lww')).toEqual({ kind: 'write', winner: 0, clock: clock([['a', 2]]), targets: [1], losers: [] });
    expect(resolveVersions([null, v([['a', 1]])], 'report')).toMatchObject({ kind: 'write', winner: 1, targets: [0] });
    expect(resolveVersions([v([['a', 1]]), v([['a', 1]])], 'lww')).toEqual({ kind: 'in_sync' });
    expect(resolveVersions([null, null], 'lww')).toEqual({ kind: 'in_sync' });
    const blue = v([['a', 2]], 100);
    const pink = v([['a', 1], ['b', 1]], 200);
    expect(resolveVersions([blue, pink], 'lww')).toEqual({ kind: 'write', winner: 1, clock: clock([['a', 2], ['b', 1]], 200), targets: [0, 1], losers: [0] });
    expect(resolveVersions([blue, pink], 'source', [0])).toMatchObject({ kind: 'write', winner: 0, losers: [1] });
    expect(resolveVersions([blue, pink], 'sink', [1])).toMatchObject({ kind: 'write', winner: 1, losers: [0] });
    expect(resolveVersions([blue, pink], 'report')).toEqual({ kind: 'report', concurrent: [0, 1] });
    // A tombstone that dominates wins like any version.
    expect(resolveVersions([v([['a', 1]]), v([['a', 2]], 0, true)], 'lww')).toMatchObject({ kind: 'write', winner: 1, targets: [0] });
    // Equal clocks that disagree on deletion: the delete of that very version stands (lwwLater).
    expect(resolveVersions([v([['a', 1]], 5, true), v([['a', 1]], 5, false)], 'lww')).toMatchObject({ winner: 0, losers: [1] });
    expect(resolveVersions([v([['a', 1]], 5, false), v([['a', 1]], 5, true)], 'lww')).toMatchObject({ winner: 1, losers: [0] });
  });

  test('in sync exactly when every place holds the same version', () => {
    fc.assert(
      fc.property(placesArb, policyArb, (places, policy) => {
        const same =
          places.every((p) => p === null) ||
          (places.every((p) => p !== null) && places.every((p) => p!.deleted === places[0]!.deleted && equalClocks(p!.clock, places[0]!.clock)));
        expect(resolveVersions(places, policy).kind === 'in_sync').toBe(same);
      }),
    );
  });

  test('the written clock descends every version: no write is lost but a logged loser', () => {
    fc.assert(
      fc.property(placesArb, policyArb, fc.nat(4), (places, policy, pref) => {
        const r = resolveVersions(places, policy, [pref % places.length]);
        if (r.kind !== 'write') return;
        for (const p of places) if (p !== null) expect(descends(r.clock, p.clock)).toBe(true);
        // The only versions replaced without being dominated by the winner are the logged losers.
        const w = places[r.winner]!;
        for (const t of r.targets) {
          const p = places[t];
          if (p === null || p === undefined || t === r.winner) continue;
          if (!descends(w.clock, p.clock) || (equalClocks(w.clock, p.clock) && w.deleted !== p.deleted)) {
            // Not contained in the winner: it must be contained in a logged loser (that loser's
            // history includes it), or be that loser.
            const contained = r.losers.some((l) => {
              const loser = places[l]!;
              return equalClocks(loser.clock, p.clock) ? loser.deleted === p.deleted : descends(loser.clock, p.clock);
            });
            expect(contained).toBe(true);
          }
        }
      }),
    );
  });

  test('applying a resolution is idempotent: afterwards every place is in sync', () => {
    fc.assert(
      fc.property(placesArb, fc.constantFrom<ConflictPolicy>('lww', 'source', 'sink'), fc.nat(4), (places, policy, pref) => {
        const after = apply(places, policy, [pref % places.length]);
        expect(resolveVersions(after, policy, [pref % places.length])).toEqual({ kind: 'in_sync' });
      }),
    );
  });

  test('source / sink: a conflict goes to the preferred side whenever it holds a maximal version', () => {
    // A side may be several places (a cluster's replicas): the winner is one of them, and the
    // same version whatever order the side's places come in.
    fc.assert(
      fc.property(placesArb, fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), (places, mask) => {
        const preferred = places.flatMap((_p, i) => (mask[i] ? [i] : []));
        const r = resolveVersions(places, 'source', preferred);
        if (r.kind !== 'write' || r.losers.length === 0) return;
        // Which positions hold the same version as position i (a version may sit on both sides).
        const same = (i: number, j: number) => places[j] != null && places[j]!.deleted === places[i]!.deleted && equalClocks(places[j]!.clock, places[i]!.clock);
        const onPreferred = (i: number) => preferred.some((p) => same(i, p));
        const maximal = [r.winner, ...r.losers];
        if (maximal.some(onPreferred)) expect(onPreferred(r.winner)).toBe(true);
        else expect(r.winner).toBe((resolveVersions(places, 'lww') as { winner: number }).winner);
      }),
    );
  });

  test('lww picks the same version whatever the order of the places', () => {
    fc.assert(
      fc.property(placesArb, fc.integer(), (places, seed) => {
        const perm = places.map((p, i) => ({ p, k: (i * 7919 + seed) % 101 })).sort((x, y) => x.k - y.k).map((x) => x.p);
        const winner = (ps: Array<Version | null>) => {
          const r = resolveVersions(ps, 'lww');
          return r.kind === 'write' ? { clock: r.clock.entries, deleted: ps[r.winner]!.deleted } : null;
        };
        expect(winner(perm)).toEqual(winner(places));
      }),
    );
  });
});

describe('aheadOf', () => {
  test('names the side whose version dominates', () => {
    expect(aheadOf(v([['a', 2]]), v([['a', 1]]))).toBe('source');
    expect(aheadOf(null, v([['a', 1]]))).toBe('sink');
    expect(aheadOf(v([['a', 1]]), null)).toBe('source');
    expect(aheadOf(v([['a', 1]]), v([['b', 1]]))).toBe('concurrent');
    expect(aheadOf(v([['a', 1]]), v([['a', 1]]))).toBe('equal');
  });
});
