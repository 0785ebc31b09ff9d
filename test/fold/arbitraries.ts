import fc from 'fast-check';
import type { FoldInput } from '../../src/fold/index.js';
import type { StoredHead } from '../../src/store/index.js';

/** Small pools, so that keys, buckets and segments repeat and the laws meet collisions. */
const bucket = fc.constantFrom('a', 'b', 'users');
const key = fc.uint8Array({ minLength: 0, maxLength: 3, max: 3 });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

export const headArb: fc.Arbitrary<StoredHead> = fc.record({
  bucket,
  key,
  clock: fc.record({
    entries: fc.constantFrom<ReadonlyArray<readonly [string, number]>>([['x', 1]], [['x', 2]], [['x', 1], ['y', 1]]),
    lastModified: fc.integer({ min: 0, max: 1000 }),
  }),
  deleted: fc.boolean(),
  size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20_000 })),
  hash: u32,
  indexes: fc.constant([]),
  keyspace: fc.integer({ min: 0, max: 7 }),
  segment32: u32,
  alt: u32,
});

export const headInputs = fc.array(headArb.map((head): FoldInput => ({ kind: 'head', head })), { maxLength: 40 });
export const hashSizeInputs = fc.array(headArb.map((entry): FoldInput => ({ kind: 'hash_size', entry })), { maxLength: 40 });

export function rootInputs(words: number): fc.Arbitrary<FoldInput[]> {
  return fc.array(
    fc.record({ keyspace: fc.integer({ min: 0, max: 7 }), words: fc.array(u32, { minLength: words, maxLength: words }) }).map(
      (r): FoldInput => ({ kind: 'root', indexN: { keyspace: r.keyspace, nVal: 3 }, root: Uint32Array.from(r.words) }),
    ),
    { maxLength: 8 },
  );
}

export function branchInputs(ids: readonly number[]): fc.Arbitrary<FoldInput[]> {
  return fc.array(
    fc.array(u32, { minLength: ids.length, maxLength: ids.length }).map((seeds): FoldInput => {
      const branches = new Map<number, Uint32Array>();
      ids.forEach((id, i) => branches.set(id, Uint32Array.from({ length: 256 }, (_, j) => (seeds[i]! * (j + 1)) >>> 0)));
      return { kind: 'branches', indexN: { keyspace: 0, nVal: 3 }, branches };
    }),
    { maxLength: 6 },
  );
}

export function wordsInputs(count: number): fc.Arbitrary<FoldInput[]> {
  return fc.array(
    fc.record({ keyspace: fc.integer({ min: 0, max: 7 }), words: fc.array(u32, { minLength: count, maxLength: count }) }).map(
      (r): FoldInput => ({ kind: 'words', indexN: { keyspace: r.keyspace, nVal: 3 }, words: Uint32Array.from(r.words) }),
    ),
    { maxLength: 8 },
  );
}

export const clocksInputs = fc.array(
  fc.array(headArb, { maxLength: 10 }).map((hs): FoldInput => ({ kind: 'clocks', keyspaces: [0], clocks: hs.map((h) => ({ bucket: h.bucket, key: h.key, clock: h.clock, deleted: h.deleted, hash: h.hash })) })),
  { maxLength: 5 },
);

export const indexInputs = fc.array(
  fc
    .record({ bucket, key, term: fc.constantFrom('', 'a', 'b', 'zz'), keyspace: fc.integer({ min: 0, max: 7 }) })
    .map((r): FoldInput => ({ kind: 'index', entry: { ...r, index: 'idx_bin' } })),
  { maxLength: 40 },
);
