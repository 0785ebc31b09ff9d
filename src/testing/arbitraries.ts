/**
 * fast-check arbitraries of fold inputs, for `foldModuleSuite`'s `inputs`: heads and hash-and-size
 * entries from small pools, so that keys, buckets and segments repeat and a module's laws meet
 * collisions. The built-in modules' own tests use these.
 */
import fc from 'fast-check';
import type { FoldInput } from '../fold/index.js';
import type { StoredHead } from '../store/index.js';

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

/** Data sets for a module whose stateNeeds is `heads`. */
export const headInputs: fc.Arbitrary<FoldInput[]> = fc.array(headArb.map((head): FoldInput => ({ kind: 'head', head })), { maxLength: 40 });
/** Data sets for a module whose stateNeeds is `hash_size_only`. */
export const hashSizeInputs: fc.Arbitrary<FoldInput[]> = fc.array(headArb.map((entry): FoldInput => ({ kind: 'hash_size', entry })), { maxLength: 40 });
