import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { defaultSpec, type SpecOverrides } from '../../src/cluster/index.js';
import type { EmbeddedCluster, PutItem } from '../../src/coordinator/index.js';
import { isAaeError } from '../../src/errors.js';
import { segmentOf, type TreeSize } from '../../src/tictac/index.js';
import type { FoldFilter, StoredHashSize, StoredHead } from '../../src/store/index.js';
import { createCluster } from '../support/clusters.js';
import { collect, dec, enc, keyString, tempDir } from './helpers.js';

/**
 * A node's own vnodes (LocalVnode over LevelDB), below the node contract: the folds a node's fold
 * executor reads through, their filters and batches, and the cached-tree reads. What the cluster
 * does through the contract is the node-contract suite's (embedded-suite.test.ts).
 */

/** Small rings and trees: the laws do not depend on the sizes, and the machine is shared. */
const SMALL: SpecOverrides = { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' };

async function withStore(overrides: SpecOverrides, fn: (s: EmbeddedCluster) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  const s = await createCluster(dir.path, defaultSpec('suite', { ...SMALL, ...overrides }));
  try {
    await fn(s);
  } finally {
    await s.close();
    await dir.dispose();
  }
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isAaeError(e), `expected AaeError ${code}, got ${String(e)}`).toBe(true);
  expect((e as { code: string }).code).toBe(code);
}

/** A predicate equal in meaning to a FoldFilter, to check folds against a filtered full fold. */
function matches(h: StoredHead, f: FoldFilter): boolean {
  if (f.buckets !== undefined && !f.buckets.includes(h.bucket)) return false;
  if (f.keyRange !== undefined) {
    const k = Buffer.from(h.key);
    if (Buffer.compare(k, Buffer.from(f.keyRange.start)) < 0 || Buffer.compare(k, Buffer.from(f.keyRange.end)) > 0) return false;
  }
  if (f.segments !== undefined && !f.segments.ids.includes(segmentOf(h.segment32, f.segments.treeSize))) return false;
  if (f.modifiedRange !== undefined && (h.clock.lastModified < f.modifiedRange.start || h.clock.lastModified > f.modifiedRange.end)) return false;
  if (f.keyspaces !== undefined && !f.keyspaces.includes(h.keyspace)) return false;
  return true;
}

/** Fold filters of every kind (any subset of them) over a vnode holding `all` in keyspaces `held`. */
function foldFilterArb(all: readonly StoredHead[], held: readonly number[]): fc.Arbitrary<FoldFilter> {
  const size = fc.constantFrom<TreeSize>('xxsmall', 'small', 'large');
  return fc.record(
    {
      buckets: fc.subarray(['b0', 'b1', 'b2', 'nope']),
      keyRange: fc.tuple(fc.nat(250), fc.nat(250)).map(([a, b]) => ({ start: enc(`key${String(Math.min(a, b)).padStart(3, '0')}`), end: enc(`key${String(Math.max(a, b)).padStart(3, '0')}`) })),
      segments: size.chain((treeSize) =>
        fc.record({
          treeSize: fc.constant(treeSize),
          // half the time, segments of keys that exist; otherwise arbitrary ids
          ids: fc.oneof(fc.subarray(all.map((h) => segmentOf(h.segment32, treeSize)), { maxLength: 20 }), fc.array(fc.nat(4095), { maxLength: 20 })),
        }),
      ),
      modifiedRange: fc.tuple(fc.nat(250), fc.nat(250)).map(([a, b]) => ({ start: Math.min(a, b), end: Math.max(a, b) })),
      keyspaces: fc.subarray([...held], { minLength: 1 }),
    },
    { requiredKeys: [] },
  );
}

/** A head as a hash-and-size fold must show it: exactly these fields. */
function hashSizeOf(h: StoredHead): StoredHashSize {
  return { bucket: h.bucket, key: h.key, keyspace: h.keyspace, segment32: h.segment32, alt: h.alt, hash: h.hash, size: h.size, deleted: h.deleted };
}

/** A fold's batches as they came (copied). */
async function batches<T>(it: AsyncIterable<readonly T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const b of it) out.push([...b]);
  return out;
}

describe('vnode folds and tree reads (LocalVnode)', () => {
      test('fetchBranches returns the branches of the cached tree', async () => {
        await withStore({}, async (s) => {
          for (let i = 0; i < 30; i++) await s.put({ bucket: 'b', key: `k${i}`, value: 'v' });
          const v = s.vnodes()[0]!;
          const n = v.indexNs[0]!;
          const tree = await v.fetchTree(n);
          const branches = await v.fetchBranches(n, [0, 3, 15]);
          expect([...branches.keys()]).toEqual([0, 3, 15]);
          for (const [id, leaves] of branches) expect(Array.from(leaves)).toEqual(Array.from(tree.branch(id)));
          await expectCode(v.fetchRoot({ keyspace: (v.indexNs[0]!.keyspace + 4) % 8, nVal: 3 }), 'INVALID_ARGUMENT');
        });
      });

    describe('folds', () => {
      /** 240 objects over 3 buckets, times 0..239, a few index terms, one tombstone in ten. */
      async function load(s: EmbeddedCluster): Promise<void> {
        const items: PutItem[] = [];
        for (let i = 0; i < 240; i++) {
          items.push({ bucket: `b${i % 3}`, key: `key${String(i).padStart(3, '0')}`, value: `value ${i}`, lastModified: i, indexes: [['age', String(i % 17).padStart(2, '0')]] });
        }
        await s.putMany(items);
        for (let i = 0; i < 240; i += 10) await s.delete(`b${i % 3}`, `key${String(i).padStart(3, '0')}`, { replicas: 3 });
      }

      test('a head fold yields exactly the keys whose preflist holds the vnode, in batches of at most batchSize', async () => {
        await withStore({}, async (s) => {
          await load(s);
          for (const v of s.vnodes()) {
            const seen: StoredHead[] = [];
            for await (const batch of v.foldHeads({}, { batchSize: 16 })) {
              expect(batch.length).toBeGreaterThan(0);
              expect(batch.length).toBeLessThanOrEqual(16);
              seen.push(...batch);
            }
            const expected: string[] = [];
            for (let i = 0; i < 240; i++) {
              const key = `key${String(i).padStart(3, '0')}`;
              if (s.preflistOf(`b${i % 3}`, key).includes(v.id)) expected.push(`b${i % 3}/${Buffer.from(key).toString('hex')}`);
            }
            expect(seen.map(keyString).sort()).toEqual(expected.sort());
            for (const h of seen) expect(v.indexNs.map((n) => n.keyspace)).toContain(h.keyspace);
          }
        });
      });

      test('law: a filtered fold equals the full fold filtered by the same predicate (any tree size for segments)', async () => {
        await withStore({}, async (s) => {
          await load(s);
          const v = s.vnodes()[3]!;
          const all = await collect(v.foldHeads({}));
          const filterArb = foldFilterArb(all, v.indexNs.map((n) => n.keyspace));
          await fc.assert(
            fc.asyncProperty(filterArb, async (filter) => {
              const got = await collect(v.foldHeads(filter, { batchSize: 7 }));
              expect(got.map(keyString).sort()).toEqual(all.filter((h) => matches(h, filter)).map(keyString).sort());
            }),
            { numRuns: 40 },
          );
        });
      });

      test('law: a hash-and-size fold yields exactly the hash, size, alt, segment32 and tombstone flag of the head fold, same filter, same order and batches', async () => {
        await withStore({}, async (s) => {
          await load(s);
          for (const v of s.vnodes()) {
            expect(v.capabilities.hashSizeFold).toBe(true);
            const heads = await batches(v.foldHeads({}, { batchSize: 16 }));
            const sizes = await batches(v.foldHashSizes({}, { batchSize: 16 }));
            expect(sizes).toEqual(heads.map((b) => b.map(hashSizeOf)));
          }
          const v = s.vnodes()[2]!;
          const all = await collect(v.foldHeads({}));
          // the data has tombstones (size 0) and live heads: both kinds are compared
          expect(all.some((h) => h.deleted) && all.some((h) => !h.deleted)).toBe(true);
          await fc.assert(
            fc.asyncProperty(foldFilterArb(all, v.indexNs.map((n) => n.keyspace)), fc.integer({ min: 1, max: 50 }), async (filter, batchSize) => {
              const heads = await batches(v.foldHeads(filter, { batchSize }));
              expect(await batches(v.foldHashSizes(filter, { batchSize }))).toEqual(heads.map((b) => b.map(hashSizeOf)));
            }),
            { numRuns: 40 },
          );
          // an exact example: one bucket, a modified range, segments of a large tree
          const some = all.filter((h) => h.bucket === 'b1' && h.clock.lastModified >= 30 && h.clock.lastModified <= 200);
          const filter: FoldFilter = {
            buckets: ['b1'],
            modifiedRange: { start: 30, end: 200 },
            segments: { ids: some.slice(0, 3).map((h) => segmentOf(h.segment32, 'large')), treeSize: 'large' },
          };
          const got = await collect(v.foldHashSizes(filter));
          expect(got.length).toBeGreaterThan(0);
          expect(got).toEqual((await collect(v.foldHeads(filter))).map(hashSizeOf));
          await expectCode(collect(v.foldHashSizes({ keyspaces: [4] })), 'INVALID_ARGUMENT');
        });
      });

      test('an object fold yields the heads with their values; tombstones with empty values', async () => {
        await withStore({}, async (s) => {
          await load(s);
          const v = s.vnodes()[1]!;
          const objects = await collect(v.foldObjects({ buckets: ['b1'] }));
          expect(objects.length).toBeGreaterThan(0);
          for (const o of objects) {
            const i = Number(dec(o.key).slice(3));
            expect(o.deleted).toBe(i % 10 === 0);
            expect(dec(o.value)).toBe(o.deleted ? '' : `value ${i}`);
            expect(o.size).toBe(o.value.byteLength);
          }
        });
      });

      test('fetchClocks returns the keys and clocks of the segments, by IndexN or by keyspaces', async () => {
        await withStore({}, async (s) => {
          await load(s);
          const v = s.vnodes()[5]!;
          const n = v.indexNs[1]!;
          const heads = await collect(v.foldHeads({ keyspaces: [n.keyspace] }));
          const segs = [...new Set(heads.slice(0, 12).map((h) => segmentOf(h.segment32, 'small')))];
          const clocks = await v.fetchClocks({ indexN: n }, segs, 'small');
          const expected = heads.filter((h) => segs.includes(segmentOf(h.segment32, 'small')));
          expect(clocks.map(keyString).sort()).toEqual(expected.map(keyString).sort());
          for (const c of clocks) expect(c.clock).toEqual(expected.find((h) => keyString(h) === keyString(c))!.clock);
          const byKeyspaces = await v.fetchClocks({ keyspaces: [n.keyspace] }, segs, 'small');
          expect(byKeyspaces.map(keyString).sort()).toEqual(clocks.map(keyString).sort());
          expect(await v.fetchClocks({ indexN: n }, [], 'small')).toEqual([]);
        });
      });

      test('an index fold is a term-range scan; updates and tombstones remove old entries', async () => {
        await withStore({}, async (s) => {
          await s.put({ bucket: 'b', key: 'a', value: '1', indexes: [['age', '30'], ['name', 'ann']] });
          await s.put({ bucket: 'b', key: 'b', value: '1', indexes: [['age', '41']] });
          await s.put({ bucket: 'b', key: 'c', value: '1', indexes: [['age', '4']] });
          await s.put({ bucket: 'other', key: 'd', value: '1', indexes: [['age', '35']] });
          await s.put({ bucket: 'b', key: 'a', value: '2', indexes: [['age', '31']] }); // age 30 → 31, name dropped
          await s.put({ bucket: 'b', key: 'e', value: '1', indexes: [['age', '33']] });
          await s.delete('b', 'e');
          const entries = new Map<string, string>();
          for (const v of s.vnodes()) {
            for (const e of await collect(v.foldIndex({ bucket: 'b', index: 'age', termRange: { start: '30', end: '4' } }))) {
              entries.set(`${dec(e.key)}=${e.term}`, e.index);
            }
            expect(await collect(v.foldIndex({ bucket: 'b', index: 'name' }))).toEqual([]);
          }
          expect([...entries.keys()].sort()).toEqual(['a=31', 'c=4']);
          const all = new Set<string>();
          for (const v of s.vnodes()) for (const e of await collect(v.foldIndex({ bucket: 'b', index: 'age', keyRange: { start: enc('b'), end: enc('c') } }))) all.add(`${dec(e.key)}=${e.term}`);
          expect([...all].sort()).toEqual(['b=41', 'c=4']);
        });
      });

      test('folds are abortable: ABORTED, before or during', async () => {
        await withStore({}, async (s) => {
          await load(s);
          const v = s.vnodes()[0]!;
          const pre = new AbortController();
          pre.abort();
          await expectCode(collect(v.foldHeads({}, { signal: pre.signal })), 'ABORTED');
          await expectCode(collect(v.foldIndex({ bucket: 'b0', index: 'age' }, { signal: pre.signal })), 'ABORTED');
          const mid = new AbortController();
          const run = (async () => {
            let n = 0;
            for await (const batch of v.foldObjects({}, { signal: mid.signal, batchSize: 5 })) {
              n += batch.length;
              if (n >= 5) mid.abort();
            }
          })();
          await expectCode(run, 'ABORTED');
          // the store still answers after aborted folds
          expect((await collect(v.foldHeads({}))).length).toBeGreaterThan(0);
        });
      });

      test('a fold over a keyspace the vnode does not hold, or a segment outside the tree, is refused', async () => {
        await withStore({}, async (s) => {
          const v = s.vnodes()[0]!;
          await expectCode(collect(v.foldHeads({ keyspaces: [4] })), 'INVALID_ARGUMENT');
          await expectCode(collect(v.foldHeads({ segments: { ids: [4096], treeSize: 'xxsmall' } })), 'TREE_SEGMENT_INVALID');
        });
      });
    });

    test('capabilities are declared on every vnode', async () => {
      await withStore({}, async (s) => {
        for (const v of s.vnodes()) {
          expect(v.capabilities).toEqual({ treeCache: true, headFold: true, hashSizeFold: true, objectFold: true, indexFold: true, writes: true });
          expect(v.indexNs).toHaveLength(s.spec.nVal);
        }
      });
    });
  });
