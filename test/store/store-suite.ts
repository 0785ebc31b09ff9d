import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compareClocks, dominates, type AaeObject, type ClusterSpec, type SpecOverrides } from '../../src/cluster/index.js';
import { isAaeError } from '../../src/errors.js';
import { segmentOf, type TreeSize } from '../../src/tictac/index.js';
import type { FoldFilter, PutItem, ReplicaVersion, StoredHead, Vnode, VnodeWrite } from '../../src/store/index.js';
import type { StoredHashSize } from '../../src/store/vnode.js';
import { collect, dec, enc, expectTreesMatchData, keyString } from './helpers.js';

/**
 * The store contract, as one suite that every store passes (the embedded cluster now; a networked
 * one later). A factory makes a fresh, empty store in its own temporary directory and disposes of
 * it (closing it and removing the directory) when the test ends.
 */

export interface StoreUnderTest {
  readonly spec: ClusterSpec;
  put(item: PutItem): Promise<AaeObject>;
  putMany(items: Iterable<PutItem>, options?: { onProgress?: (p: { written: number }) => void; batchSize?: number }): Promise<{ written: number }>;
  delete(bucket: string, key: string | Uint8Array, options?: { replicas?: number }): Promise<AaeObject>;
  get(bucket: string, key: string | Uint8Array): Promise<AaeObject | null>;
  getReplicas(bucket: string, key: string | Uint8Array): Promise<ReplicaVersion[]>;
  preflistOf(bucket: string, key: string | Uint8Array): readonly Vnode[];
  vnodes(): readonly Vnode[];
  close(): Promise<void>;
}

export interface StoreHandle {
  store: StoreUnderTest;
  dispose(): Promise<void>;
}

export type StoreFactory = (overrides: SpecOverrides) => Promise<StoreHandle>;

/** Small rings and trees: the laws do not depend on the sizes, and the machine is shared. */
const SMALL: SpecOverrides = { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' };

async function withStore(factory: StoreFactory, overrides: SpecOverrides, fn: (s: StoreUnderTest) => Promise<void>): Promise<void> {
  const h = await factory({ ...SMALL, ...overrides });
  try {
    await fn(h.store);
  } finally {
    await h.dispose();
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

function treesMatch(s: StoreUnderTest): Promise<number> {
  return expectTreesMatchData(s.vnodes(), s.spec, (a, b, msg) => expect(a, msg).toEqual(b));
}

/** An op of the random write sequences. */
type Op =
  | { kind: 'put'; key: number; value: string; replicas: number; index?: string }
  | { kind: 'putClock'; key: number; counter: number; actor: string }
  | { kind: 'delete'; key: number; replicas: number }
  | { kind: 'erase'; key: number; replica: number };

const opArb = (nVal: number): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({ kind: fc.constant('put' as const), key: fc.nat(7), value: fc.string({ maxLength: 6 }), replicas: fc.integer({ min: 1, max: nVal }), index: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }) }),
    fc.record({ kind: fc.constant('putClock' as const), key: fc.nat(7), counter: fc.integer({ min: 1, max: 4 }), actor: fc.constantFrom('x', 'y') }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.nat(7), replicas: fc.integer({ min: 1, max: nVal }) }),
    fc.record({ kind: fc.constant('erase' as const), key: fc.nat(7), replica: fc.nat(nVal - 1) }),
  );

async function applyOp(s: StoreUnderTest, op: Op): Promise<void> {
  const key = `k${op.key}`;
  switch (op.kind) {
    case 'put':
      await s.put({ bucket: 'b', key, value: op.value, replicas: op.replicas, indexes: op.index === undefined ? [] : [['idx', op.index]] });
      return;
    case 'putClock':
      await s.put({ bucket: 'b', key, value: `${op.actor}${op.counter}`, clock: { entries: [[op.actor, op.counter]], lastModified: 1000 + op.counter } });
      return;
    case 'delete':
      await s.delete('b', key, { replicas: op.replicas });
      return;
    case 'erase': {
      const v = s.preflistOf('b', key)[op.replica]!;
      await v.write([{ kind: 'erase', bucket: 'b', key: enc(key) }]);
    }
  }
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

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    describe('put, get, delete', () => {
      test('a write without a clock makes a new version by the cluster actor; the next one descends it', async () => {
        await withStore(factory, {}, async (s) => {
          const a = await s.put({ bucket: 'b', key: 'k', value: 'v1', lastModified: 1000 });
          expect(a.clock).toEqual({ entries: [[s.spec.name, 1]], lastModified: 1000 });
          const b = await s.put({ bucket: 'b', key: 'k', value: 'v2', lastModified: 2000 });
          expect(b.clock).toEqual({ entries: [[s.spec.name, 2]], lastModified: 2000 });
          const got = await s.get('b', 'k');
          expect(got && dec(got.value)).toBe('v2');
          expect(got?.clock).toEqual(b.clock);
          expect(got?.deleted).toBe(false);
          expect(await s.get('b', 'missing')).toBeNull();
        });
      });

      test('a write with a clock keeps it exactly, even an older one', async () => {
        await withStore(factory, {}, async (s) => {
          const clock = { entries: [['other', 7], ['zed', 2]] as const, lastModified: 1234 };
          await s.put({ bucket: 'b', key: enc('k'), value: enc('copied'), clock: { entries: clock.entries.map(([a, c]) => [a, c] as const), lastModified: 1234 } });
          for (const r of await s.getReplicas('b', 'k')) {
            expect(r.object?.clock).toEqual({ entries: [['other', 7], ['zed', 2]], lastModified: 1234 });
          }
          // a clockless write now builds on the stored clock
          const next = await s.put({ bucket: 'b', key: 'k', value: 'new', lastModified: 2000 });
          expect(next.clock.entries).toEqual([['other', 7], [s.spec.name, 1], ['zed', 2]]);
        });
      });

      test('replicas: K writes only the first K of the preflist; the next full write dominates every replica', async () => {
        await withStore(factory, {}, async (s) => {
          await s.put({ bucket: 'b', key: 'k', value: 'one', replicas: 1 });
          const reps = await s.getReplicas('b', 'k');
          expect(reps.map((r) => r.vnode)).toEqual(s.preflistOf('b', 'k').map((v) => v.id));
          expect(reps.map((r) => r.object !== null)).toEqual([true, false, false]);
          const full = await s.put({ bucket: 'b', key: 'k', value: 'all' });
          for (const r of await s.getReplicas('b', 'k')) {
            expect(r.object?.clock).toEqual(full.clock);
            expect(dominates(full.clock, reps[0]!.object!.clock)).toBe(true);
          }
        });
      });

      test('get returns the dominant version of drifted replicas', async () => {
        await withStore(factory, {}, async (s) => {
          await s.put({ bucket: 'b', key: 'k', value: 'old' });
          await s.put({ bucket: 'b', key: 'k', value: 'new', replicas: 2 });
          const reps = await s.getReplicas('b', 'k');
          expect(reps.map((r) => dec(r.object!.value))).toEqual(['new', 'new', 'old']);
          expect(dec((await s.get('b', 'k'))!.value)).toBe('new');
        });
      });

      test('delete writes a tombstone that keeps a clock dominating the deleted version', async () => {
        await withStore(factory, {}, async (s) => {
          const live = await s.put({ bucket: 'b', key: 'k', value: 'v', indexes: [['i', 't']] });
          const tomb = await s.delete('b', 'k');
          expect(tomb.deleted).toBe(true);
          expect(compareClocks(tomb.clock, live.clock)).toBe('left');
          const got = await s.get('b', 'k');
          expect(got?.deleted).toBe(true);
          expect(got?.value.byteLength).toBe(0);
          expect(got?.indexes).toEqual([]);
          for (const r of await s.getReplicas('b', 'k')) expect(r.object?.deleted).toBe(true);
          await treesMatch(s);
        });
      });

      test('keys are bytes: a non-UTF-8 key round-trips', async () => {
        await withStore(factory, {}, async (s) => {
          const key = Uint8Array.of(0xff, 0x00, 0xfe);
          await s.put({ bucket: 'b', key, value: Uint8Array.of(1, 2, 3) });
          const got = await s.get('b', key);
          expect(Array.from(got!.key)).toEqual([0xff, 0x00, 0xfe]);
          expect(Array.from(got!.value)).toEqual([1, 2, 3]);
        });
      });

      test('bad input is refused with a code and writes nothing', async () => {
        await withStore(factory, {}, async (s) => {
          await expectCode(s.put({ bucket: '', key: 'k' }), 'KEY_INVALID');
          await expectCode(s.put({ bucket: 'a\0b', key: 'k' }), 'KEY_INVALID');
          await expectCode(s.put({ bucket: 'b', key: 'k', replicas: 0 }), 'INVALID_ARGUMENT');
          await expectCode(s.put({ bucket: 'b', key: 'k', replicas: 4 }), 'INVALID_ARGUMENT');
          await expectCode(s.put({ bucket: 'b', key: 'k', indexes: [['i', 'a\0']] }), 'KEY_INVALID');
          await expectCode(s.put({ bucket: 'b', key: 'k', clock: { entries: [['a', -1]], lastModified: 0 } }), 'CLOCK_INVALID');
          expect(await s.get('b', 'k')).toBeNull();
        });
      });

      test('putMany writes every item in batches and reports progress', async () => {
        await withStore(factory, {}, async (s) => {
          const progress: number[] = [];
          const items = Array.from({ length: 25 }, (_, i): PutItem => ({ bucket: 'b', key: `k${i}`, value: `v${i}` }));
          const r = await s.putMany(items, { batchSize: 10, onProgress: (p) => progress.push(p.written) });
          expect(r.written).toBe(25);
          expect(progress).toEqual([10, 20, 25]);
          expect(dec((await s.get('b', 'k17'))!.value)).toBe('v17');
          await treesMatch(s);
        });
      });

      test('a closed store refuses writes with STORE_CLOSED', async () => {
        const h = await factory(SMALL);
        try {
          await h.store.close();
          await expectCode(h.store.put({ bucket: 'b', key: 'k' }), 'STORE_CLOSED');
        } finally {
          await h.dispose();
        }
      });
    });

    describe('cached trees', () => {
      test('law: after any sequence of writes, deletes and erases, every cached tree equals the tree built from scratch', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(opArb(3), { minLength: 1, maxLength: 25 }), async (ops) => {
            await withStore(factory, {}, async (s) => {
              for (const op of ops) await applyOp(s, op);
              await treesMatch(s);
            });
          }),
          { numRuns: 6 },
        );
      });

      test('race: many concurrent writes to a few keys leave every tree agreeing with the data', async () => {
        await withStore(factory, {}, async (s) => {
          const ops = fc.sample(opArb(3), { numRuns: 300, seed: 42 });
          const direct: Array<Promise<unknown>> = [];
          for (let i = 0; i < 40; i++) {
            const key = `k${i % 8}`;
            const v = s.preflistOf('b', key)[i % 3]!;
            const w: VnodeWrite = { kind: 'put', object: { bucket: 'b', key: enc(key), clock: { entries: [['direct', i + 1]], lastModified: i }, value: enc(`d${i}`), deleted: false, indexes: [] } };
            direct.push(v.write([w]));
          }
          await Promise.all([...ops.map((op) => applyOp(s, op)), ...direct]);
          expect(await treesMatch(s)).toBe(8 * 3);
        });
      });

      test('race: a direct vnode write landing between a cluster write reading its replicas and writing them', async () => {
        await withStore(factory, {}, async (s) => {
          for (let i = 0; i < 10; i++) await s.put({ bucket: 'b', key: `k${i}`, value: 'first' });
          const all: Array<Promise<unknown>> = [];
          for (let i = 0; i < 10; i++) {
            const key = `k${i}`;
            all.push(s.put({ bucket: 'b', key, value: 'second' }));
            const v = s.preflistOf('b', key)[i % 3]!;
            const w: VnodeWrite =
              i % 2 === 0
                ? { kind: 'erase', bucket: 'b', key: enc(key) }
                : { kind: 'put', object: { bucket: 'b', key: enc(key), clock: { entries: [['side', 1]], lastModified: 5 }, value: enc('side'), deleted: false, indexes: [] } };
            all.push(v.write([w]));
          }
          await Promise.all(all);
          await treesMatch(s);
        });
      });

      test('race: concurrent clockless writes to one key mint distinct, increasing clocks', async () => {
        await withStore(factory, {}, async (s) => {
          const written = await Promise.all(Array.from({ length: 30 }, (_, i) => s.put({ bucket: 'b', key: 'hot', value: `v${i}` })));
          const counters = written.map((o) => o.clock.entries.find(([a]) => a === s.spec.name)![1]).sort((a, b) => a - b);
          expect(counters).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
          await treesMatch(s);
        });
      });

      test('hash method value: trees are built from value hashes and still agree', async () => {
        await withStore(factory, { hashMethod: 'value', seed: 99 }, async (s) => {
          for (let i = 0; i < 20; i++) await s.put({ bucket: 'b', key: `k${i % 6}`, value: `v${i}` });
          await s.delete('b', 'k1');
          await treesMatch(s);
        });
      });

      test('fetchBranches returns the branches of the cached tree', async () => {
        await withStore(factory, {}, async (s) => {
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
    });

    describe('folds', () => {
      /** 240 objects over 3 buckets, times 0..239, a few index terms, one tombstone in ten. */
      async function load(s: StoreUnderTest): Promise<void> {
        const items: PutItem[] = [];
        for (let i = 0; i < 240; i++) {
          items.push({ bucket: `b${i % 3}`, key: `key${String(i).padStart(3, '0')}`, value: `value ${i}`, lastModified: i, indexes: [['age', String(i % 17).padStart(2, '0')]] });
        }
        await s.putMany(items);
        for (let i = 0; i < 240; i += 10) await s.delete(`b${i % 3}`, `key${String(i).padStart(3, '0')}`, { replicas: 3 });
      }

      test('a head fold yields exactly the keys whose preflist holds the vnode, in batches of at most batchSize', async () => {
        await withStore(factory, {}, async (s) => {
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
              if (s.preflistOf(`b${i % 3}`, key).some((p) => p.id === v.id)) expected.push(`b${i % 3}/${Buffer.from(key).toString('hex')}`);
            }
            expect(seen.map(keyString).sort()).toEqual(expected.sort());
            for (const h of seen) expect(v.indexNs.map((n) => n.keyspace)).toContain(h.keyspace);
          }
        });
      });

      test('law: a filtered fold equals the full fold filtered by the same predicate (any tree size for segments)', async () => {
        await withStore(factory, {}, async (s) => {
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
        await withStore(factory, {}, async (s) => {
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
        await withStore(factory, {}, async (s) => {
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
        await withStore(factory, {}, async (s) => {
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
        await withStore(factory, {}, async (s) => {
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
        await withStore(factory, {}, async (s) => {
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
        await withStore(factory, {}, async (s) => {
          const v = s.vnodes()[0]!;
          await expectCode(collect(v.foldHeads({ keyspaces: [4] })), 'INVALID_ARGUMENT');
          await expectCode(collect(v.foldHeads({ segments: { ids: [4096], treeSize: 'xxsmall' } })), 'TREE_SEGMENT_INVALID');
        });
      });
    });

    test('capabilities are declared on every vnode', async () => {
      await withStore(factory, {}, async (s) => {
        for (const v of s.vnodes()) {
          expect(v.capabilities).toEqual({ treeCache: true, headFold: true, hashSizeFold: true, objectFold: true, indexFold: true, writes: true });
          expect(v.indexNs).toHaveLength(s.spec.nVal);
        }
      });
    });
  });
}
