import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { keyspaceOf } from '../../src/cluster/index.js';
import { isAaeError } from '../../src/errors.js';
import {
  FoldQueue,
  executeFold,
  inThreadSession,
  fetchClocksNval,
  plainCodec,
  fetchClocksRange,
  findTombs,
  indexTree,
  listBuckets,
  mergeBranchNval,
  mergeWordsNval,
  mergeRootNval,
  mergeTreeRange,
  objectStats,
  reapTombs,
  eraseKeys,
  replKeysRange,
  runFold,
  summarizeRun,
  type AnyFoldModule,
} from '../../src/fold/index.js';
import type { KeyClock } from '../../src/node/index.js';
import type { Vnode } from '../../src/store/index.js';
import { initHash, keyHash, canonicalKey } from '../../src/hash/index.js';
import type { EmbeddedCluster } from '../../src/coordinator/index.js';
import { clusters, sampleItems } from './cluster-fixture.js';

const items = sampleItems(300);
const env = clusters();
let single: EmbeddedCluster;

beforeAll(async () => {
  await initHash();
  // All the data in one place: one node, one replica.
  single = await env.make('single', { ringSize: 8, nVal: 1, nodeCount: 1 }, items);
});
afterAll(() => env.cleanup());

/** The folds compared, with queries that touch every kind of state. */
const segmentsOfSome = (): number[] => items.slice(0, 5).map((it) => keyHash(canonicalKey(it.bucket, typeof it.key === 'string' ? Buffer.from(it.key) : it.key), 0).segment32 & (65536 - 1));
const cases: Array<[AnyFoldModule, unknown]> = [
  [objectStats, {}],
  [objectStats, { bucket: 'users', modifiedRange: { start: 1_050, end: 1_200 } }],
  [mergeTreeRange, { treeSize: 'small' }],
  [mergeTreeRange, { treeSize: 'xsmall', bucket: 'orders', keyRange: { start: 'k0100', end: 'k0200' } }],
  [mergeRootNval, {}],
  [mergeBranchNval, { branches: [0, 7, 200] }],
  [mergeWordsNval, { width: 1, ids: [0, 7, 200, 65_535] }],
  [mergeWordsNval, { width: 64, ids: [3, 900] }],
  [mergeWordsNval, { width: 4096, ids: [0, 15] }],
  [fetchClocksRange, { bucket: 'logs' }],
  [listBuckets, {}],
  [findTombs, {}],
  [indexTree, { bucket: 'users', index: 'age_int', treeSize: 'xsmall' }],
  [indexTree, { bucket: 'users', index: 'name_bin', termRange: { start: 'n1', end: 'n3' }, treeSize: 'xxsmall' }],
  [replKeysRange, {}],
  [reapTombs, {}],
];

describe.each([
  { ringSize: 8, nVal: 3, offset: 0 },
  { ringSize: 16, nVal: 2, offset: 5 },
  { ringSize: 32, nVal: 3, offset: 77 },
])('a 3-node cluster (ring $ringSize, nVal $nVal, offset $offset) folds as all the data in one place', ({ ringSize, nVal, offset }) => {
  let cluster: EmbeddedCluster;
  beforeAll(async () => {
    cluster = await env.make(`c${ringSize}n${nVal}`, { ringSize, nVal, nodeCount: 3 }, items);
  });

  test.each(cases.map(([m, q]) => [m.name, JSON.stringify(q), m, q] as const))('%s %s', async (_name, _q, module, query) => {
    const here = await runFold(cluster, module, query, { offset });
    const there = await runFold(single, module, query, { offset: 0 });
    expect(summarizeRun(module, here).json).toEqual(summarizeRun(module, there).json);
    expect(here.coverage.fraction).toBe(1);
    expect(here.coverage.keyspaces).toHaveLength(ringSize);
    const covered = here.coverage.vnodes.flatMap((v) => v.keyspaces).sort((a, b) => a - b);
    expect(covered).toEqual(Array.from({ length: ringSize }, (_, k) => k));
  });

  test('fetch_clocks_nval over some segments equals fetch_clocks_range filtered to them', async () => {
    const segments = segmentsOfSome();
    const nval = await runFold(cluster, fetchClocksNval, { segments }, { offset });
    const range = await runFold(single, fetchClocksRange, { segments: { ids: segments, treeSize: 'small' } });
    expect(summarizeRun(fetchClocksNval, nval).json).toEqual(summarizeRun(fetchClocksRange, range).json);
    expect(nval.acc.length).toBeGreaterThanOrEqual(5);
  });

  test("merge_root_nval (cached trees) equals the root of merge_tree_range at the cluster's tree size (a scan)", async () => {
    const root = await runFold(cluster, mergeRootNval, {}, { offset });
    const tree = await runFold(cluster, mergeTreeRange, { treeSize: 'small' }, { offset: offset + 1 });
    expect(root.acc).toEqual(tree.acc.root());
  });
});

test('a sampled run covers what it says, and object_stats scales its estimate by the fraction', async () => {
  const cluster = await env.make('sampled', { ringSize: 16, nVal: 3, nodeCount: 3 }, items);
  const r = await runFold(cluster, objectStats, {}, { sample: { fraction: 0.25 }, offset: 3 });
  expect(r.coverage.fraction).toBe(0.25);
  expect(r.coverage.keyspaces).toHaveLength(4);
  const inSample = items.filter((it) => r.coverage.keyspaces.includes(keyspaceOf(it.bucket, typeof it.key === 'string' ? Buffer.from(it.key) : it.key, 16)));
  expect(r.acc.count + r.acc.tombstones).toBe(inSample.length);
  const json = summarizeRun(objectStats, r).json as { estimate: { count: number } };
  expect(json.estimate.count).toBe(Math.round(r.acc.count / 0.25));
});

test('each node folds its vnodes into one accumulator, the coordinator only merges, and any number of requests per node gives the same result', async () => {
  const counts = { accs: 0, merges: 0 };
  const counted: AnyFoldModule = {
    ...mergeTreeRange,
    name: 'counted_tree_range',
    generateAcc: (q) => {
      counts.accs++;
      return mergeTreeRange.generateAcc(q);
    },
    generateMergeFun: (q) => {
      const merge = mergeTreeRange.generateMergeFun(q);
      return (a, b) => {
        counts.merges++;
        return merge(a, b);
      };
    },
  };
  // The module runs on the nodes: they are given it, as `aae fold` gives them a module file.
  const cluster = await env.make('lanes', { ringSize: 16, nVal: 3, nodeCount: 3 }, items, { modules: [counted] });
  const one = await runFold(cluster, counted, { treeSize: 'small' }, { offset: 2, perNode: 1 });
  // One accumulator a request (one request a node the plan visits), made on the node, not one a
  // vnode; the coordinator makes none: the first node's becomes the run's, so requests − 1 merges.
  const lanes = new Set(one.coverage.vnodes.map((v) => v.node)).size;
  expect(one.coverage.vnodes.length).toBeGreaterThan(lanes);
  expect(counts).toEqual({ accs: lanes, merges: lanes - 1 });
  const whole = await runFold(single, mergeTreeRange, { treeSize: 'small' });
  expect(one.acc.equals(whole.acc)).toBe(true);
  for (const perNode of [2, 8]) {
    const r = await runFold(cluster, mergeTreeRange, { treeSize: 'small' }, { offset: 2, perNode });
    expect(r.acc.equals(whole.acc)).toBe(true);
    const stats = await runFold(cluster, objectStats, {}, { offset: 2, perNode });
    expect(stats.acc).toEqual((await runFold(single, objectStats, {})).acc);
  }
});

/**
 * A node's fold over the single cluster's vnodes, seen through a proxy that logs which head-based
 * fold each answers with and, when `hashSizeFold` is false, declares no hash-and-size folds (and
 * refuses them if asked anyway). The executor is the node's side of a fold, called directly.
 */
async function recordingFold(module: AnyFoldModule, query: unknown, hashSizeFold: boolean, calls: string[]): Promise<{ json: unknown; items: number }> {
  const wrap = (v: Vnode): Vnode =>
    new Proxy(v, {
      get(t, p) {
        if (p === 'capabilities') return { ...t.capabilities, hashSizeFold };
        if (p === 'foldHashSizes' && !hashSizeFold) return () => Promise.reject(new Error('foldHashSizes called on a vnode that does not offer it'));
        const value: unknown = Reflect.get(t, p, t);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          if (p === 'foldHeads' || p === 'foldHashSizes') calls.push(p);
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  const q = module.parseQuery(query);
  const shares = single.vnodes().map((v) => ({ vnode: v.id, keyspaces: v.indexNs.map((n) => n.keyspace) }));
  let result: { json: unknown; items: number } | undefined;
  for await (const ev of executeFold({ node: 'n1', session: inThreadSession(module, q), shares, vnode: (id) => wrap(single.vnode(id)), nVal: 1, queue: new FoldQueue('n1'), signal: new AbortController().signal, emits: false })) {
    if (ev.kind !== 'result') continue;
    const acc: unknown = (module.accCodec ?? plainCodec()).decode(ev.acc, q);
    result = { json: summarizeRun(module, { module: module.name, query: q, acc, coverage: { fraction: 1, keyspaces: [], ringSize: 8, nVal: 1, offset: 0, missing: [], complete: true, vnodes: [] }, timings: { planMs: 0, foldMs: 0, mergeMs: 0, totalMs: 0 }, items: ev.items }).json, items: ev.items };
  }
  return result!;
}

describe('hash_size_only folds', () => {
  const queries: Array<[AnyFoldModule, unknown]> = [
    [objectStats, {}],
    [objectStats, { bucket: 'users', modifiedRange: { start: 1_050, end: 1_200 } }],
    [mergeTreeRange, { treeSize: 'small' }],
    [mergeTreeRange, { treeSize: 'xsmall', bucket: 'orders', keyRange: { start: 'k0100', end: 'k0200' } }],
    [listBuckets, {}],
  ];
  test.each(queries.map(([m, q]) => [m.name, JSON.stringify(q), m, q] as const))(
    '%s %s reads foldHashSizes where offered, foldHeads where not, with equal results',
    async (_name, _q, module, query) => {
      const fast: string[] = [];
      const slow: string[] = [];
      const a = await recordingFold(module, query, true, fast);
      const b = await recordingFold(module, query, false, slow);
      expect(fast.length).toBeGreaterThan(0);
      expect(new Set(fast)).toEqual(new Set(['foldHashSizes']));
      expect(slow.length).toBe(fast.length);
      expect(new Set(slow)).toEqual(new Set(['foldHeads']));
      expect(a.json).toEqual(b.json);
      expect(a.items).toBe(b.items);
    },
  );
});

describe('stopping', () => {
  let cluster: EmbeddedCluster;
  /** One fold at a time per node, none waiting: a second fold on a busy node is refused. */
  let narrow: EmbeddedCluster;
  beforeAll(async () => {
    cluster = await env.make('stopping', { ringSize: 16, nVal: 3, nodeCount: 3 }, items);
    narrow = await env.make('narrow', { ringSize: 16, nVal: 3, nodeCount: 3 }, items, { foldLimits: { maxRunning: 1, maxWaiting: 0 } });
  });
  const loads = (c: EmbeddedCluster) => c.spec.nodes.map((n) => c.localNode(n).queue.load);

  test('an abort stops every vnode fold, rejects ABORTED and leaves no fold running', async () => {
    const ac = new AbortController();
    let calls = 0;
    const sink = async (): Promise<void> => {
      calls++;
      ac.abort();
    };
    const err = await runFold(cluster, replKeysRange, { batchSize: 1 }, { signal: ac.signal, sink }).catch((e: unknown) => e);
    expect(isAaeError(err, 'ABORTED')).toBe(true);
    expect(calls).toBeLessThan(10);
    await vi.waitFor(() => expect(loads(cluster)).toEqual(cluster.spec.nodes.map(() => ({ running: 0, waiting: 0 }))));
  });

  test('a timeout rejects TIMEOUT and leaves no fold running', async () => {
    const sink = (_b: readonly KeyClock[], { signal }: { signal: AbortSignal }): Promise<void> =>
      new Promise((resolve) => {
        const t = setTimeout(resolve, 100);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    const t0 = Date.now();
    const err = await runFold(cluster, replKeysRange, { batchSize: 1 }, { timeoutMs: 60, sink }).catch((e: unknown) => e);
    expect(isAaeError(err, 'TIMEOUT')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2_000);
    await vi.waitFor(() => expect(loads(cluster)).toEqual(cluster.spec.nodes.map(() => ({ running: 0, waiting: 0 }))));
  });

  test('an already aborted signal folds nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await runFold(cluster, objectStats, {}, { signal: ac.signal }).catch((e: unknown) => e);
    expect(isAaeError(err, 'ABORTED')).toBe(true);
  });

  test('a full node queue answers BACKLOG instead of piling up; the queue drains after', async () => {
    // Every node's one slot is taken (a plan with a random offset may ask any of them), and no one
    // may wait: the fold must be refused, not queued.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const busy = narrow.spec.nodes.map((node) => narrow.localNode(node).queue.run(() => gate));
    const err = await runFold(narrow, objectStats, {}).catch((e: unknown) => e);
    expect(isAaeError(err, 'BACKLOG')).toBe(true);
    release();
    await Promise.all(busy);
    const after = await runFold(narrow, objectStats, {});
    expect(after.acc.count).toBeGreaterThan(0);
  });

  test('a fold waiting on its sink keeps its node slot until the sink returns', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inSink = new Promise<void>((r) => (entered = r));
    const first = runFold(narrow, replKeysRange, { batchSize: 1000 }, {
      sink: async () => {
        entered();
        await gate;
      },
    });
    await inSink;
    const held = narrow.spec.nodes.filter((n) => narrow.localNode(n).queue.load.running > 0);
    expect(held.length).toBeGreaterThan(0);
    release();
    const r = await first;
    expect(r.acc.dispatched).toBe(items.length);
    expect(r.acc.found).toBe(items.length);
  });

  test('a bad query is refused before any fold (FOLD_QUERY_INVALID)', async () => {
    const err = await runFold(cluster, objectStats, { bucket: 42 }).catch((e: unknown) => e);
    expect(isAaeError(err, 'FOLD_QUERY_INVALID')).toBe(true);
  });
});

describe('mutating folds', () => {
  test('reap_tombs counts by default, reaps every replica when told, and the cached trees stay current', async () => {
    const cluster = await env.make('reap', { ringSize: 8, nVal: 3, nodeCount: 3 }, items);
    const tombs = items.filter((i) => i.deleted).length;
    const counted = await runFold(cluster, reapTombs, {});
    expect(counted.acc).toMatchObject({ found: tombs, removed: 0 });
    // Told to act, it runs on every replica: found and removed count replica records.
    const reaped = await runFold(cluster, reapTombs, { change: 'reap', batchSize: 7, pauseMs: 1 }, { offset: 1 });
    expect(reaped.acc).toMatchObject({ found: tombs * 3, removed: tombs * 3, skipped: 0 });
    expect((await runFold(cluster, findTombs, {}, { offset: 2 })).acc.items).toHaveLength(0);
    const root = await runFold(cluster, mergeRootNval, {});
    const scan = await runFold(cluster, mergeTreeRange, { treeSize: 'small' });
    expect(root.acc).toEqual(scan.acc.root());
    const stats = await runFold(cluster, objectStats, {});
    expect(stats.acc.count).toBe(items.length - tombs);
  });

  test('erase_keys erases a modified range on every replica', async () => {
    const cluster = await env.make('erase', { ringSize: 8, nVal: 3, nodeCount: 3 }, items);
    const range = { start: 1_000, end: 1_099 };
    const r = await runFold(cluster, eraseKeys, { modifiedRange: range, change: 'erase', pauseMs: 0 });
    expect(r.acc.found).toBe(300);
    expect(r.acc.removed).toBe(300);
    const left = await runFold(cluster, objectStats, {}, { offset: 2 });
    expect(left.acc.count + left.acc.tombstones).toBe(items.length - 100);
  });
});
