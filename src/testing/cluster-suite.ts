/**
 * The node-contract suite: what every cluster of nodes must do when reached only through the node
 * contract — writes and reads through the coordinator, trees that always describe the data,
 * conditional writes that never overwrite a newer version, folds run on the nodes, and refusals
 * with stable codes. An implementation of NodeService (a node in this process, a node behind a
 * socket, a keystore) passes it by giving a factory of fresh clusters of its nodes.
 *
 * Every check goes through the contract: the trees are read with tree folds (merge_root_nval and
 * merge_branch_nval over one vnode's keyspace), and checked against a tree worked out from the
 * objects themselves (listed by repl_keys_range, read with readObjects, hashed here), so neither the
 * stored hashes nor the cached trees are trusted.
 *
 * The suite registers its tests with the `describe` and `test` it is given and asserts with
 * node:assert, so it needs no particular runner.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareClocks, dominates, indexNsOfVnode, versionHash, type AaeObject, type SpecOverrides } from '../cluster/index.js';
import type { Cluster, PutItem } from '../coordinator/index.js';
import { isAaeError, type AaeErrorCode } from '../errors.js';
import { eraseKeys, mergeBranchNval, mergeRootNval, objectStats, replKeysRange, runFold } from '../fold/index.js';
import { canonicalKey, contribution, initHash, keyHash } from '../hash/index.js';
import type { KeyClock, WriteEntry } from '../node/index.js';
import { TicTacTree, branchCountOf } from '../tictac/index.js';

export interface ClusterHandle {
  cluster: Cluster;
  /** Closes the cluster (if still open) and removes what the factory made. */
  dispose(): Promise<void>;
}

/** A fresh, empty cluster of the implementation's nodes, with the spec overrides applied. */
export type ClusterFactory = (overrides: SpecOverrides) => Promise<ClusterHandle>;

export interface SuiteHarness {
  describe(name: string, fn: () => void): unknown;
  test(name: string, fn: () => Promise<void> | void): unknown;
  /** Registers a test that does not apply (the runner shows it skipped, with its reason); without it such tests are left out. */
  skip?(name: string, fn: () => Promise<void> | void): unknown;
}

/**
 * What a test of the suite needs of the nodes beyond the contract's core. Every cluster of
 * LocalNodes has all of it; a node of another kind declares what it lacks (SuiteOptions.lacks),
 * and the tests that need it do not run against it. Declared, never probed.
 *
 * - `clock-writes`: a written object is stored with its clock (given, or minted by the cluster).
 *   A keystore keeps its own clocks (the source's positions): what it stores is the row.
 * - `replicas`: nVal > 1, and writes to some replicas only (drift between replicas).
 * - `tombstones`: a delete is stored as a tombstone. A keystore erases (a deleted row is gone).
 * - `dominance-writes`: `ifDominates` puts (decided by clocks).
 * - `binary-keys`: keys that are any bytes (a table's key is text).
 * - `buckets`: keys in any bucket (a keystore holds one).
 * - `mutating-folds`: reap_tombs and erase_keys told to act.
 * - `spec-overrides`: clusters made to the suite's spec (its hash method, seed, ring and tree sizes).
 */
export type SuiteNeed = 'clock-writes' | 'replicas' | 'tombstones' | 'dominance-writes' | 'binary-keys' | 'buckets' | 'mutating-folds' | 'spec-overrides';

export interface SuiteOptions {
  /** What the implementation's nodes do not do: the tests that need it are skipped (see SuiteNeed). */
  lacks?: readonly SuiteNeed[];
}

/** Small rings and trees: the laws do not depend on the sizes, and test machines are shared. */
const SMALL: SpecOverrides = { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' };

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function withCluster(factory: ClusterFactory, overrides: SpecOverrides, fn: (c: Cluster) => Promise<void>): Promise<void> {
  await initHash();
  const h = await factory({ ...SMALL, ...overrides });
  try {
    await fn(h.cluster);
  } finally {
    await h.dispose();
  }
}

async function expectCode(p: Promise<unknown>, code: AaeErrorCode): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isAaeError(e, code), `expected AaeError ${code}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
}

/** Writes straight into one vnode through its node (as a replica would see a write that bypassed the cluster). */
async function writeVnode(c: Cluster, vnode: number, entries: WriteEntry[]): Promise<void> {
  await c.nodeOf(vnode).write({ vnode, writes: entries });
}

/** A vnode's keys in one keyspace, as its node lists them (repl_keys_range over that vnode alone). */
async function keysOf(c: Cluster, vnode: number, keyspace: number): Promise<KeyClock[]> {
  const keys: KeyClock[] = [];
  await runFold(c, replKeysRange, {}, {
    shares: [{ vnode, keyspaces: [keyspace] }],
    sink: async (batch) => {
      keys.push(...batch);
    },
  });
  return keys;
}

/**
 * Every vnode's cached tree of every keyspace it holds equals the tree worked out from its objects
 * (read through the contract, hashed here); returns how many trees were compared.
 */
export async function expectTreesMatchObjects(c: Cluster): Promise<number> {
  const { params } = c;
  const branches = Array.from({ length: branchCountOf(params.treeSize) }, (_, i) => i);
  let n = 0;
  for (let v = 0; v < params.ringSize; v++) {
    for (const { keyspace } of indexNsOfVnode(v, params)) {
      const keys = await keysOf(c, v, keyspace);
      const { objects } = await c.nodeOf(v).readObjects({ vnode: v, keys: keys.map((k) => ({ bucket: k.bucket, key: k.key })) });
      const scratch = TicTacTree.create(params.treeSize);
      objects.forEach((o, i) => {
        assert.ok(o !== null, `vnode ${v} listed ${keys[i]!.bucket}/${dec(keys[i]!.key)} but cannot read it`);
        const { segment32, alt } = keyHash(canonicalKey(o.object.bucket, o.object.key), params.seed);
        scratch.add(segment32, contribution(alt, versionHash(o.object, params.hashMethod, params.seed)));
      });
      const shares = [{ vnode: v, keyspaces: [keyspace] }];
      const root = (await runFold(c, mergeRootNval, {}, { shares })).acc;
      assert.deepEqual(Array.from(root ?? []), Array.from(scratch.root()), `root of vnode ${v}, keyspace ${keyspace}`);
      const cached = (await runFold(c, mergeBranchNval, { branches }, { shares })).acc;
      for (const b of branches) assert.deepEqual(Array.from(cached.get(b) ?? []), Array.from(scratch.branch(b)), `branch ${b} of vnode ${v}, keyspace ${keyspace}`);
      n++;
    }
  }
  return n;
}

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

async function applyOp(c: Cluster, op: Op): Promise<void> {
  const key = `k${op.key}`;
  switch (op.kind) {
    case 'put':
      await c.put({ bucket: 'b', key, value: op.value, replicas: op.replicas, indexes: op.index === undefined ? [] : [['idx', op.index]] });
      return;
    case 'putClock':
      await c.put({ bucket: 'b', key, value: `${op.actor}${op.counter}`, clock: { entries: [[op.actor, op.counter]], lastModified: 1000 + op.counter } });
      return;
    case 'delete':
      await c.delete('b', key, { replicas: op.replicas });
      return;
    case 'erase':
      await writeVnode(c, c.preflistOf('b', key)[op.replica]!, [{ op: { kind: 'erase', bucket: 'b', key: enc(key) } }]);
  }
}

function object(key: string, value: string, entries: Array<readonly [string, number]>, lastModified = 1): AaeObject {
  return { bucket: 'b', key: enc(key), clock: { entries, lastModified }, value: enc(value), deleted: false, indexes: [] };
}

export function clusterSuite(name: string, factory: ClusterFactory, h: SuiteHarness, options: SuiteOptions = {}): void {
  const { describe } = h;
  const lacks = new Set(options.lacks ?? []);
  /** A test, registered to run when the nodes have what it needs, else as skipped (naming what is lacking). */
  const test = (title: string, needs: readonly SuiteNeed[], fn: () => Promise<void> | void): void => {
    const missing = needs.filter((n) => lacks.has(n));
    if (missing.length === 0) h.test(title, fn);
    else h.skip?.(`${title} (needs ${missing.join(', ')})`, fn);
  };
  describe(`node contract: ${name}`, () => {
    describe('nodes', () => {
      test('every node says who it is: its cluster, the contract version, the parameters, its vnodes and what it can do', [], async () => {
        await withCluster(factory, {}, async (c) => {
          const seen = new Set<number>();
          for (const nodeName of c.spec.nodes) {
            const info = await c.node(nodeName).info();
            assert.equal(info.name, nodeName);
            assert.equal(info.cluster, c.spec.name);
            assert.equal(info.contract.major, 1);
            assert.deepEqual({ ...info.params }, { ...c.params });
            assert.deepEqual([...info.vnodes], c.owners.flatMap((o, v) => (o === nodeName ? [v] : [])));
            for (const v of info.vnodes) seen.add(v);
            assert.ok(info.modules.some((m) => m.name === 'object_stats'));
            assert.ok(info.folds.maxRunning >= 1);
          }
          assert.equal(seen.size, c.params.ringSize);
        });
      });

      test('a request for a vnode the node does not hold, or a key outside the vnode, is refused with NODE_REQUEST_INVALID', [], async () => {
        await withCluster(factory, {}, async (c) => {
          const first = c.spec.nodes[0]!;
          const other = c.owners.findIndex((o) => o !== first);
          await expectCode(c.node(first).readHeads({ vnode: other, keys: [{ bucket: 'b', key: enc('k') }] }), 'NODE_REQUEST_INVALID');
          const [v] = c.preflistOf('b', 'k');
          const stranger = [...Array(200).keys()].map((i) => `s${i}`).find((k) => !c.preflistOf('b', k).includes(v!))!;
          await expectCode(c.nodeOf(v!).write({ vnode: v!, writes: [{ op: { kind: 'put', object: object(stranger, 'x', [['a', 1]]) } }] }), 'NODE_REQUEST_INVALID');
          await expectCode(c.nodeOf(v!).readObjects({ vnode: v!, keys: [{ bucket: 'b', key: enc(stranger) }] }), 'NODE_REQUEST_INVALID');
        });
      });
    });

    describe('writes and reads', () => {
      test('a write without a clock makes a new version by the cluster actor; the next one descends it', ['clock-writes'], async () => {
        await withCluster(factory, {}, async (c) => {
          const a = await c.put({ bucket: 'b', key: 'k', value: 'v1', lastModified: 1000 });
          assert.deepEqual(a.clock, { entries: [[c.spec.name, 1]], lastModified: 1000 });
          const b = await c.put({ bucket: 'b', key: 'k', value: 'v2', lastModified: 2000 });
          assert.deepEqual(b.clock, { entries: [[c.spec.name, 2]], lastModified: 2000 });
          const got = await c.get('b', 'k');
          assert.equal(got && dec(got.value), 'v2');
          assert.deepEqual(got?.clock, b.clock);
          assert.equal(got?.deleted, false);
          assert.equal(await c.get('b', 'missing'), null);
        });
      });

      test('a write with a clock keeps it exactly, even an older one; a clockless write then builds on it', ['clock-writes'], async () => {
        await withCluster(factory, {}, async (c) => {
          await c.put({ bucket: 'b', key: enc('k'), value: enc('copied'), clock: { entries: [['zed', 2], ['other', 7]], lastModified: 1234 } });
          for (const r of await c.getReplicas('b', 'k')) assert.deepEqual(r.object?.clock, { entries: [['other', 7], ['zed', 2]], lastModified: 1234 });
          const next = await c.put({ bucket: 'b', key: 'k', value: 'new', lastModified: 2000 });
          assert.deepEqual(next.clock.entries, [['other', 7], [c.spec.name, 1], ['zed', 2]]);
        });
      });

      test('replicas: K writes only the first K of the preflist; the next full write dominates every replica', ['replicas', 'clock-writes'], async () => {
        await withCluster(factory, {}, async (c) => {
          await c.put({ bucket: 'b', key: 'k', value: 'one', replicas: 1 });
          const reps = await c.getReplicas('b', 'k');
          assert.deepEqual(reps.map((r) => r.vnode), [...c.preflistOf('b', 'k')]);
          assert.deepEqual(reps.map((r) => r.object !== null), [true, false, false]);
          const full = await c.put({ bucket: 'b', key: 'k', value: 'all' });
          for (const r of await c.getReplicas('b', 'k')) {
            assert.deepEqual(r.object?.clock, full.clock);
            assert.ok(dominates(full.clock, reps[0]!.object!.clock));
          }
        });
      });

      test('get returns the dominant version of drifted replicas', ['replicas'], async () => {
        await withCluster(factory, {}, async (c) => {
          await c.put({ bucket: 'b', key: 'k', value: 'old' });
          await c.put({ bucket: 'b', key: 'k', value: 'new', replicas: 2 });
          assert.deepEqual((await c.getReplicas('b', 'k')).map((r) => dec(r.object!.value)), ['new', 'new', 'old']);
          assert.equal(dec((await c.get('b', 'k'))!.value), 'new');
        });
      });

      test('delete writes a tombstone whose clock dominates the deleted version', ['tombstones', 'clock-writes'], async () => {
        await withCluster(factory, {}, async (c) => {
          const live = await c.put({ bucket: 'b', key: 'k', value: 'v', indexes: [['i', 't']] });
          const tomb = await c.delete('b', 'k');
          assert.equal(tomb.deleted, true);
          assert.equal(compareClocks(tomb.clock, live.clock), 'left');
          const got = await c.get('b', 'k');
          assert.equal(got?.deleted, true);
          assert.equal(got?.value.byteLength, 0);
          assert.deepEqual(got?.indexes, []);
          for (const r of await c.getReplicas('b', 'k')) assert.equal(r.object?.deleted, true);
          await expectTreesMatchObjects(c);
        });
      });

      test('keys are bytes: a non-UTF-8 key round-trips', ['binary-keys'], async () => {
        await withCluster(factory, {}, async (c) => {
          const key = Uint8Array.of(0xff, 0x00, 0xfe);
          await c.put({ bucket: 'b', key, value: Uint8Array.of(1, 2, 3) });
          const got = await c.get('b', key);
          assert.deepEqual(Array.from(got!.key), [0xff, 0x00, 0xfe]);
          assert.deepEqual(Array.from(got!.value), [1, 2, 3]);
        });
      });

      test('bad input is refused with a code and writes nothing', [], async () => {
        await withCluster(factory, {}, async (c) => {
          await expectCode(c.put({ bucket: '', key: 'k' }), 'KEY_INVALID');
          await expectCode(c.put({ bucket: 'a\0b', key: 'k' }), 'KEY_INVALID');
          await expectCode(c.put({ bucket: 'b', key: 'k', replicas: 0 }), 'INVALID_ARGUMENT');
          await expectCode(c.put({ bucket: 'b', key: 'k', replicas: 4 }), 'INVALID_ARGUMENT');
          await expectCode(c.put({ bucket: 'b', key: 'k', indexes: [['i', 'a\0']] }), 'KEY_INVALID');
          await expectCode(c.put({ bucket: 'b', key: 'k', clock: { entries: [['a', -1]], lastModified: 0 } }), 'CLOCK_INVALID');
          assert.equal(await c.get('b', 'k'), null);
        });
      });

      test('putMany writes every item in batches and reports progress', [], async () => {
        await withCluster(factory, {}, async (c) => {
          const progress: number[] = [];
          const items = Array.from({ length: 25 }, (_, i): PutItem => ({ bucket: 'b', key: `k${i}`, value: `v${i}` }));
          const r = await c.putMany(items, { batchSize: 10, onProgress: (p) => progress.push(p.written) });
          assert.equal(r.written, 25);
          assert.deepEqual(progress, [10, 20, 25]);
          assert.equal(dec((await c.get('b', 'k17'))!.value), 'v17');
          await expectTreesMatchObjects(c);
        });
      });

      test('a closed cluster refuses writes with STORE_CLOSED', [], async () => {
        const made = await factory(SMALL);
        try {
          await made.cluster.close();
          await expectCode(made.cluster.put({ bucket: 'b', key: 'k' }), 'STORE_CLOSED');
        } finally {
          await made.dispose();
        }
      });

      test('a conditional put lands only over a version it dominates, and says what it decided against', ['dominance-writes', 'clock-writes'], async () => {
        await withCluster(factory, {}, async (c) => {
          const [v] = c.preflistOf('b', 'k');
          const node = c.nodeOf(v!);
          const put = (entries: Array<readonly [string, number]>, value: string) => node.write({ vnode: v!, writes: [{ op: { kind: 'put', object: object('k', value, entries), ifDominates: true } }] });
          assert.deepEqual((await put([['a', 2]], 'two')).previous, [null]);
          const older = await put([['a', 1]], 'one');
          assert.deepEqual(older.previous[0]?.clock.entries, [['a', 2]]);
          const concurrent = await put([['b', 1]], 'other');
          assert.deepEqual(concurrent.previous[0]?.clock.entries, [['a', 2]]);
          const newer = await put([['a', 3]], 'three');
          assert.deepEqual(newer.previous[0]?.clock.entries, [['a', 2]]);
          const { objects } = await node.readObjects({ vnode: v!, keys: [{ bucket: 'b', key: enc('k') }] });
          assert.equal(dec(objects[0]!.object.value), 'three');
          await expectTreesMatchObjects(c);
        });
      });

      test('a conditional erase lands only while the vnode still holds the version it names', ['tombstones'], async () => {
        await withCluster(factory, {}, async (c) => {
          await c.put({ bucket: 'b', key: 'k', value: 'live' });
          await c.delete('b', 'k');
          const [v] = c.preflistOf('b', 'k');
          const node = c.nodeOf(v!);
          const { heads } = await node.readHeads({ vnode: v!, keys: [{ bucket: 'b', key: enc('k') }] });
          const tomb = heads[0]!;
          assert.equal(tomb.deleted, true);
          await node.write({ vnode: v!, writes: [{ op: { kind: 'erase', bucket: 'b', key: enc('k'), ifHash: (tomb.hash + 1) >>> 0 } }] });
          assert.notEqual((await node.readHeads({ vnode: v!, keys: [{ bucket: 'b', key: enc('k') }] })).heads[0], null, 'an erase naming another hash must not land');
          await node.write({ vnode: v!, writes: [{ op: { kind: 'erase', bucket: 'b', key: enc('k'), ifHash: tomb.hash, ifDeleted: true } }] });
          assert.equal((await node.readHeads({ vnode: v!, keys: [{ bucket: 'b', key: enc('k') }] })).heads[0], null);
          await expectTreesMatchObjects(c);
        });
      });
    });

    describe('cached trees', () => {
      test('law: after any sequence of writes, deletes and erases, every cached tree equals the tree worked out from the objects', ['clock-writes', 'replicas', 'tombstones'], async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(opArb(3), { minLength: 1, maxLength: 20 }), async (ops) => {
            await withCluster(factory, {}, async (c) => {
              for (const op of ops) await applyOp(c, op);
              await expectTreesMatchObjects(c);
            });
          }),
          { numRuns: 5 },
        );
      });

      test('race: cluster writes and direct vnode writes to a few keys leave every tree agreeing with the data', ['clock-writes', 'replicas'], async () => {
        await withCluster(factory, {}, async (c) => {
          const ops = fc.sample(opArb(3), { numRuns: 200, seed: 42 });
          const direct: Array<Promise<unknown>> = [];
          for (let i = 0; i < 40; i++) {
            const key = `k${i % 8}`;
            direct.push(writeVnode(c, c.preflistOf('b', key)[i % 3]!, [{ op: { kind: 'put', object: object(key, `d${i}`, [['direct', i + 1]], i) } }]));
          }
          await Promise.all([...ops.map((op) => applyOp(c, op)), ...direct]);
          assert.equal(await expectTreesMatchObjects(c), 8 * 3);
        });
      });

      test('race: concurrent clockless writes to one key mint distinct, increasing clocks', ['clock-writes'], async () => {
        await withCluster(factory, {}, async (c) => {
          const written = await Promise.all(Array.from({ length: 30 }, (_, i) => c.put({ bucket: 'b', key: 'hot', value: `v${i}` })));
          const counters = written.map((o) => o.clock.entries.find(([a]) => a === c.spec.name)![1]).sort((a, b) => a - b);
          assert.deepEqual(counters, Array.from({ length: 30 }, (_, i) => i + 1));
          await expectTreesMatchObjects(c);
        });
      });

      test('hash method value: trees are built from value hashes and still agree', ['spec-overrides'], async () => {
        await withCluster(factory, { hashMethod: 'value', seed: 99 }, async (c) => {
          for (let i = 0; i < 20; i++) await c.put({ bucket: 'b', key: `k${i % 6}`, value: `v${i}` });
          await c.delete('b', 'k1');
          await expectTreesMatchObjects(c);
        });
      });
    });

    describe('folds on the nodes', () => {
      test('object_stats over the cluster counts every object once, whatever the coverage offset', ['buckets'], async () => {
        await withCluster(factory, {}, async (c) => {
          await c.putMany(Array.from({ length: 60 }, (_, i) => ({ bucket: `b${i % 2}`, key: `k${i}`, value: 'x'.repeat(i) })));
          for (const offset of [0, 1, 2, 5]) {
            const { acc } = await runFold(c, objectStats, {}, { offset });
            assert.equal(acc.count, 60);
            assert.equal(acc.totalBytes, (59 * 60) / 2);
          }
        });
      });

      test('repl_keys_range hands over every key, in batches the caller takes', [], async () => {
        await withCluster(factory, {}, async (c) => {
          await c.putMany(Array.from({ length: 50 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v' })));
          const seen = new Set<string>();
          let batches = 0;
          const { acc } = await runFold(c, replKeysRange, { batchSize: 7 }, {
            sink: async (batch) => {
              batches++;
              assert.ok(batch.length <= 7);
              for (const k of batch) seen.add(dec(k.key));
            },
          });
          assert.equal(seen.size, 50);
          assert.equal(acc.dispatched, 50);
          assert.ok(batches >= 8);
        });
      });

      test('a mutating fold told to act erases on every replica through each node\'s own writes', ['mutating-folds', 'buckets'], async () => {
        await withCluster(factory, {}, async (c) => {
          await c.putMany(Array.from({ length: 20 }, (_, i) => ({ bucket: i < 10 ? 'gone' : 'kept', key: `k${i}`, value: 'v' })));
          const { acc } = await runFold(c, eraseKeys, { bucket: 'gone', change: 'erase', pauseMs: 0 });
          assert.equal(acc.removed, 10 * c.params.nVal);
          for (let i = 0; i < 20; i++) {
            const reps = await c.getReplicas(i < 10 ? 'gone' : 'kept', `k${i}`);
            assert.ok(reps.every((r) => (i < 10 ? r.object === null : r.object !== null)));
          }
          await expectTreesMatchObjects(c);
        });
      });

      test('an unknown module, a version range no node satisfies, or a keyspace outside a vnode is refused with its code', [], async () => {
        await withCluster(factory, {}, async (c) => {
          const node = c.node(c.spec.nodes[0]!);
          const [v] = (await node.info()).vnodes;
          const drain = async (it: AsyncIterable<unknown>): Promise<void> => {
            for await (const _ of it) {
              // drained
            }
          };
          await expectCode(drain(node.fold({ module: 'no_such_module', query: {}, vnodes: [] })), 'FOLD_MODULE_UNKNOWN');
          await expectCode(drain(node.fold({ module: 'object_stats', version: '>=99', query: {}, vnodes: [] })), 'FOLD_VERSION_UNSATISFIED');
          const outside = [...Array(c.params.ringSize).keys()].find((k) => !indexNsOfVnode(v!, c.params).some((n) => n.keyspace === k))!;
          await expectCode(drain(node.fold({ module: 'object_stats', query: {}, vnodes: [{ vnode: v!, keyspaces: [outside] }] })), 'NODE_REQUEST_INVALID');
          await expectCode(runFold(c, objectStats, {}, { version: '^99.0.0' }), 'FOLD_VERSION_UNSATISFIED');
        });
      });
    });
  });
}


