import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { DIFFERENCE_KINDS, DifferenceSummary, DriftProfile, MAX_BINS, MAX_SUMMARY_BUCKETS, OTHER_BUCKETS, classifyDifference, toDifference, type Difference } from '../../src/aae/index.js';
import { makeClock } from '../../src/cluster/index.js';
import { initHash } from '../../src/hash/index.js';

/** Laws of what summarises a stream of differences: nothing is lost or counted twice, and memory stays bounded. */
beforeAll(async () => {
  await initHash();
});

const version = fc.option(
  fc.record({ n: fc.integer({ min: 1, max: 3 }), actor: fc.constantFrom('a', 'b'), t: fc.integer({ min: 0, max: 4e12 }), deleted: fc.boolean() }),
  { nil: null },
);

const difference = fc
  .record({ bucket: fc.constantFrom('users', 'orders', 'x'), key: fc.uint8Array({ minLength: 1, maxLength: 4 }), blue: version, pink: version })
  .filter((d) => d.blue !== null || d.pink !== null)
  .map((d): Difference =>
    toDifference({
      bucket: d.bucket,
      key: d.key,
      blue: d.blue === null ? null : makeClock([[d.blue.actor, d.blue.n]], d.blue.t),
      pink: d.pink === null ? null : makeClock([[d.pink.actor, d.pink.n]], d.pink.t),
      ...(d.blue === null ? {} : { blueDeleted: d.blue.deleted }),
      ...(d.pink === null ? {} : { pinkDeleted: d.pink.deleted }),
    }),
  );

describe('DifferenceSummary', () => {
  test('law: every difference is counted once, in one kind and one side, in its bucket and in the totals', () => {
    fc.assert(
      fc.property(fc.array(difference, { maxLength: 200 }), (ds) => {
        const s = new DifferenceSummary();
        for (const d of ds) s.add(d);
        const j = s.toJSON();
        const sum = (k: { source: number; sink: number; both: number }) => k.source + k.sink + k.both;
        expect(j.total).toBe(ds.length);
        expect(DIFFERENCE_KINDS.reduce((n, k) => n + sum(j.kinds[k]), 0)).toBe(ds.length);
        expect(sum(j.ahead)).toBe(ds.length);
        expect(j.buckets.reduce((n, b) => n + b.total, 0)).toBe(ds.length);
        for (const b of j.buckets) expect(b.total).toBe(ds.filter((d) => d.bucket === b.bucket).length);
        // missing means one side is absent; tombstone means both present, one deleted.
        for (const d of ds) {
          const c = classifyDifference(d);
          expect(c.kind === 'missing').toBe(d.source === null || d.sink === null);
          if (c.kind === 'tombstone') expect(d.source?.deleted).not.toBe(d.sink?.deleted);
          if (c.kind === 'concurrent') expect(c.ahead).toBe('both');
        }
      }),
    );
  });

  test('past MAX_SUMMARY_BUCKETS buckets, the rest are counted together, last', () => {
    const s = new DifferenceSummary();
    const n = MAX_SUMMARY_BUCKETS + 50;
    for (let i = 0; i < n; i++) s.add(toDifference({ bucket: `b${i}`, key: Uint8Array.of(1), blue: makeClock([['a', 1]], 1), pink: null, blueDeleted: false }));
    const rows = s.byBucket();
    expect(rows).toHaveLength(MAX_SUMMARY_BUCKETS + 1);
    expect(rows.at(-1)).toMatchObject({ bucket: OTHER_BUCKETS, total: 50 });
    expect(s.total).toBe(n);
  });
});

describe('DriftProfile', () => {
  test('law: the histogram counts every timed difference once, spans at most MAX_BINS bins, and each side counts every difference once', () => {
    fc.assert(
      fc.property(fc.array(difference, { maxLength: 300 }), (ds) => {
        const p = new DriftProfile([
          { name: 'a', ringSize: 16, nVal: 3, owners: Array.from({ length: 16 }, (_, v) => `n${v % 4}`) },
          { name: 'b', ringSize: 8, nVal: 2, owners: Array.from({ length: 8 }, (_, v) => `n${v % 3}`) },
        ]);
        for (const d of ds) p.add(d);
        const j = p.toJSON();
        const timed = ds.filter((d) => Math.max(d.source?.clock.lastModified ?? 0, d.sink?.clock.lastModified ?? 0) > 0).length;
        expect(j.time.counts.reduce((a, b) => a + b, 0)).toBe(timed);
        expect(j.time.untimed).toBe(ds.length - timed);
        expect(j.time.counts.length).toBeLessThanOrEqual(MAX_BINS);
        for (const side of j.sides) {
          expect(side.partitions.reduce((a, b) => a + b, 0)).toBe(ds.length);
          expect(Object.values(side.nodes).reduce((a, b) => a + b, 0)).toBe(ds.length);
        }
        expect(j.cells.reduce((n, c) => n + c.count, 0)).toBe(ds.length);
        // Every timed difference falls in the bin its time names.
        for (const d of ds) {
          const t = Math.max(d.source?.clock.lastModified ?? 0, d.sink?.clock.lastModified ?? 0);
          if (t > 0) expect(j.time.counts[Math.floor((t - j.time.startMs!) / j.time.binMs)]).toBeGreaterThan(0);
        }
      }),
    );
  });
});
