import { describe, expect, test } from 'vitest';
import {
  eraseKeys,
  fetchClocksNval,
  fetchClocksRange,
  findKeys,
  findTombs,
  indexTree,
  listBuckets,
  mergeBranchNval,
  mergeWordsNval,
  mergeRootNval,
  mergeTreeRange,
  objectStats,
  reapTombs,
  replKeysRange,
  type AnyFoldModule,
  type FoldInput,
} from '../../src/fold/index.js';
import { branchInputs, clocksInputs, hashSizeInputs, headInputs, indexInputs, rootInputs, wordsInputs } from './arbitraries.js';
import { foldModuleSuite } from './fold-module-suite.js';

/** Every built-in module passes the compliance suite. */

const manyHeads = (n: number, deleted = false): FoldInput[] =>
  Array.from({ length: n }, (_, i) => ({
    kind: 'head',
    head: {
      bucket: `b${i}`,
      key: Uint8Array.of(i & 255, i >> 8),
      clock: { entries: [['x', 1]], lastModified: 1 },
      deleted,
      size: 50_000,
      hash: i,
      indexes: [],
      keyspace: 0,
      segment32: i,
      alt: i,
    },
  }));
const asHashSize = (inputs: FoldInput[]): FoldInput[] => inputs.map((i) => (i.kind === 'head' ? { kind: 'hash_size', entry: i.head } : i));
const badRange = [
  { bucket: '' },
  { keyRange: { start: 'b', end: 'a' } },
  { modifiedRange: { start: 5, end: 1 } },
  { segments: { ids: [70_000], treeSize: 'small' } },
  { nonsense: 1 },
  'not an object',
];

/**
 * A cap on a listing truncates and says so (it is not a failure): the first `max` entries in
 * order, whichever order they arrive in and however they are split between folds.
 */
function truncates(module: AnyFoldModule, query: Record<string, number>, inputs: FoldInput[], field: 'keys' | 'buckets'): void {
  test(`${module.name}: past its cap, the first entries in order, marked truncated`, async () => {
    const q = module.parseQuery(query);
    const max = query.maxResults ?? query.maxBuckets!;
    const fold = module.generateObjectFoldFun(q);
    const merge = module.generateMergeFun(q);
    const foldAll = (xs: FoldInput[]) => xs.reduce((acc, x) => fold(acc, x), module.generateAcc(q));
    const view = (acc: unknown) => JSON.stringify(module.summarize!(acc, q, WHOLE).json);
    const whole = module.summarize!(foldAll(inputs), q, WHOLE).json as Record<string, unknown[] | boolean | number>;
    expect(whole.truncated).toBe(true);
    expect(whole[field]).toHaveLength(max);
    expect(module.summarize!(foldAll(inputs.slice(0, max)), q, WHOLE).json).toMatchObject({ truncated: false });
    const reversed = foldAll([...inputs].reverse());
    expect(view(reversed)).toBe(view(foldAll(inputs)));
    expect(view(merge(foldAll(inputs.slice(0, 3)), foldAll(inputs.slice(3))))).toBe(view(foldAll(inputs)));
    expect(module.accSize(foldAll(inputs))).toBeLessThanOrEqual(module.accBound(q));
  });
}

const WHOLE = { fraction: 1, keyspaces: [0], ringSize: 8 };

describe('merge_root_nval', () => {
  foldModuleSuite(mergeRootNval, { queries: [{}], badQueries: [{ nVal: 3 }, 7], inputs: rootInputs(16) });
});

describe('merge_branch_nval', () => {
  foldModuleSuite(mergeBranchNval, {
    queries: [{ branches: [3, 0] }],
    badQueries: [{}, { branches: [] }, { branches: [-1] }, { branches: [1.5] }],
    inputs: branchInputs([0, 3]),
  });
});

describe('merge_words_nval', () => {
  foldModuleSuite(mergeWordsNval, {
    queries: [{ width: 32, ids: [0, 5, 9] }],
    badQueries: [{}, { width: 3, ids: [1] }, { width: 1, ids: [] }, { width: 1, ids: [4, 2] }, { width: 1, ids: [2, 2] }, { width: 0, ids: [1] }],
    inputs: wordsInputs(3),
  });
});

describe('fetch_clocks_nval', () => {
  foldModuleSuite(fetchClocksNval, {
    queries: [{ segments: [1, 2] }, { segments: [5], treeSize: 'xxsmall' }],
    badQueries: [{}, { segments: [] }, { segments: [1], modifiedRange: { start: 0, end: 1 } }, { segments: [5000], treeSize: 'xxsmall' }],
    inputs: clocksInputs,
    overflow: { query: { segments: [1], maxResults: 3 }, inputs: [{ kind: 'clocks', keyspaces: [0], clocks: manyHeads(4).map((i) => (i.kind === 'head' ? i.head : (undefined as never))) }] },
  });
});

describe('fetch_clocks_nval with a modified range (a head fold)', () => {
  foldModuleSuite(fetchClocksNval, {
    queries: [{ segments: [1, 2], treeSize: 'small', modifiedRange: { start: 0, end: 500 } }],
    badQueries: [],
    inputs: headInputs,
  });
});

describe('merge_tree_range', () => {
  foldModuleSuite(mergeTreeRange, {
    queries: [{ treeSize: 'xxsmall' }, { treeSize: 'small', bucket: 'a', segments: { ids: [1, 2], treeSize: 'xxsmall' } }],
    badQueries: [...badRange, { treeSize: 'huge' }],
    inputs: hashSizeInputs,
    numRuns: 25,
  });
});

describe('fetch_clocks_range', () => {
  foldModuleSuite(fetchClocksRange, {
    queries: [{}, { bucket: 'a', keyRange: { start: '', end: { base64: 'AQ==' } } }],
    badQueries: [...badRange, { maxResults: 0 }],
    inputs: headInputs,
    overflow: { query: { maxResults: 10 }, inputs: manyHeads(11) },
  });
});

describe('repl_keys_range', () => {
  foldModuleSuite(replKeysRange, {
    queries: [{}, { batchSize: 3 }],
    badQueries: [...badRange, { batchSize: 0 }],
    inputs: headInputs,
  });
});

describe('find_keys', () => {
  foldModuleSuite(findKeys, {
    // maxResults 2: the laws hold where the list is truncated too.
    queries: [{ objectSize: 1000 }, { objectSize: 0, bucket: 'users' }, { objectSize: 0, maxResults: 2 }],
    badQueries: [...badRange, {}, { objectSize: -1 }, { siblingCount: 1 }, { objectSize: 10, siblingCount: 2 }],
    inputs: hashSizeInputs,
  });
  truncates(findKeys, { objectSize: 10, maxResults: 5 }, asHashSize(manyHeads(12)), 'keys');
});

describe('object_stats', () => {
  foldModuleSuite(objectStats, { queries: [{}, { bucket: 'a' }], badQueries: badRange, inputs: hashSizeInputs });
});

describe('list_buckets', () => {
  foldModuleSuite(listBuckets, {
    queries: [{}, { maxBuckets: 2 }],
    badQueries: [{ maxBuckets: 0 }, { bucket: 'a' }],
    inputs: hashSizeInputs,
  });
  truncates(listBuckets, { maxBuckets: 4 }, asHashSize(manyHeads(9)), 'buckets');
});

describe('find_tombs', () => {
  foldModuleSuite(findTombs, {
    queries: [{}, { modifiedRange: { start: 0, end: 100 } }, { maxResults: 2 }],
    badQueries: badRange,
    inputs: headInputs,
  });
  truncates(findTombs, { maxResults: 5 }, manyHeads(12, true), 'keys');
});

describe('reap_tombs (count)', () => {
  foldModuleSuite(reapTombs, { queries: [{}, { change: 'count', bucket: 'a' }], badQueries: [...badRange, { change: 'erase' }, { pauseMs: -1 }], inputs: headInputs });
});

describe('erase_keys (count)', () => {
  foldModuleSuite(eraseKeys, { queries: [{}], badQueries: [...badRange, { change: 'reap' }, { batchSize: 0 }], inputs: headInputs });
});

describe('index_tree', () => {
  foldModuleSuite(indexTree, {
    queries: [{ bucket: 'a', index: 'idx_bin', treeSize: 'xxsmall' }],
    badQueries: [{}, { bucket: 'a' }, { bucket: 'a', index: '' }, { bucket: 'a', index: 'i', termRange: { start: 'z', end: 'a' } }],
    inputs: indexInputs,
    numRuns: 25,
  });
});
