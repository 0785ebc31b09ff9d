import fc from 'fast-check';
import type { FoldInput } from '../../src/fold/index.js';

import { headArb } from '../../src/testing/arbitraries.js';

/** Heads and hash-and-size inputs are shipped (tictac-aae/testing); the rest are for the built-ins only. */
export { headArb, headInputs, hashSizeInputs } from '../../src/testing/arbitraries.js';

const bucket = fc.constantFrom('a', 'b', 'users');
const key = fc.uint8Array({ minLength: 0, maxLength: 3, max: 3 });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

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
