/**
 * The compliance suite every fold module passes (one contract, one suite), shipped so a module's
 * author runs the same laws the built-ins pass. For each valid query:
 * - the query crosses to a node: after a msgpack round trip of the caller's input, parseQuery gives
 *   the same query (a node validates the query again, from bytes);
 * - merge is commutative and associative, the empty accumulator is its identity, and it mutates
 *   neither argument;
 * - folding a data set split in two and merging equals folding the whole;
 * - the accumulator stays within its declared bound;
 * - the accumulator crosses back: decode(encode(acc)) shows the same result (the module's codec, or
 *   the default msgpack one for plain-data accumulators);
 * and bad queries are refused with FOLD_QUERY_INVALID. Results are compared through the module's
 * summary (its JSON), so list order and representation do not matter — only content.
 *
 * The suite registers its tests with the test function it is given (vitest's, node:test's), and
 * asserts with node:assert, so it needs no particular runner.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isAaeError } from '../errors.js';
import { MAX_INPUT_BATCH, parseFoldQuery, plainCodec, type CoverageSummary, type FlushContext, type FoldInput, type FoldModule } from '../fold/index.js';
import { initHash } from '../hash/index.js';
import { decodePlain, encodePlain } from './loopback.js';

/** How a suite registers a test: vitest's `test`, node:test's `test`, or anything of that shape. */
export type TestFn = (name: string, fn: () => Promise<void> | void) => unknown;

export interface FoldModuleFixtures {
  /** Valid queries (raw input, as a caller would pass it). */
  queries: unknown[];
  /** Inputs that parseQuery must refuse. */
  badQueries: unknown[];
  /** Data sets as a node would hand them to this module. */
  inputs: fc.Arbitrary<FoldInput[]>;
  /** Optional: a query and inputs that must overflow the accumulator (FOLD_ACC_OVERFLOW). */
  overflow?: { query: unknown; inputs: FoldInput[] };
  numRuns?: number;
}

const WHOLE: CoverageSummary = { fraction: 1, keyspaces: [0, 1, 2, 3, 4, 5, 6, 7], ringSize: 8 };

/** A flush context with no vnode behind it: only count-only queries may write through one. */
function offlineContext(final: boolean): FlushContext {
  return {
    final,
    vnode: {
      id: 0,
      write: () => Promise.reject(new Error('the compliance suite has no vnode to write to')),
    },
    signal: new AbortController().signal,
    emits: true,
  };
}

export function foldModuleSuite<Q, A>(module: FoldModule<Q, A>, fixtures: FoldModuleFixtures, test: TestFn): void {
  const numRuns = fixtures.numRuns ?? 60;
  const codec = module.accCodec ?? plainCodec<Q, A>();

  /** Folds as a node folds one vnode: batches, a flush after each, a final flush. */
  async function foldAll(q: Q, inputs: readonly FoldInput[]): Promise<A> {
    const fold = module.generateObjectFoldFun(q);
    const flush = module.generateFlushFun?.(q);
    let acc = module.generateAcc(q);
    for (let i = 0; i < inputs.length; i += MAX_INPUT_BATCH) {
      for (const input of inputs.slice(i, i + MAX_INPUT_BATCH)) acc = fold(acc, input);
      if (flush !== undefined) acc = (await flush(acc, offlineContext(false))).acc;
      assert.ok(module.accSize(acc) <= module.accBound(q), `accumulator of ${module.accSize(acc)} over its bound ${module.accBound(q)}`);
    }
    if (flush !== undefined) acc = (await flush(acc, offlineContext(true))).acc;
    assert.ok(module.accSize(acc) <= module.accBound(q), `accumulator of ${module.accSize(acc)} over its bound ${module.accBound(q)}`);
    return acc;
  }

  const view = (q: Q, acc: A): unknown =>
    JSON.parse(JSON.stringify(module.summarize?.(acc, q, WHOLE).json ?? acc, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v instanceof Set ? [...(v as Set<unknown>)].sort() : v)));

  test(`${module.name}: declares the contract`, async () => {
    await initHash();
    assert.match(module.name, /^[a-z_][a-z0-9_]*$/);
    assert.equal(module.apiVersion, 1);
    for (const raw of fixtures.queries) {
      const q = module.parseQuery(raw);
      assert.ok(['heads', 'objects', 'hash_size_only', 'index', 'tree_cache'].includes(module.stateNeeds(q)));
      assert.ok(['plan', 'every_replica'].includes(module.coverage?.(q) ?? 'plan'));
      assert.ok(module.accSize(module.generateAcc(q)) <= module.accBound(q));
    }
  });

  test(`${module.name}: refuses bad queries with FOLD_QUERY_INVALID`, () => {
    for (const bad of fixtures.badQueries) {
      let caught: unknown;
      try {
        parseFoldQuery(module, bad);
      } catch (e) {
        caught = e;
      }
      assert.ok(isAaeError(caught, 'FOLD_QUERY_INVALID'), `query ${JSON.stringify(bad)} was not refused`);
    }
  });

  test(`${module.name}: a query crosses to a node as bytes and parses to the same query`, () => {
    for (const raw of fixtures.queries) {
      const here = module.parseQuery(raw);
      const there = module.parseQuery(decodePlain(encodePlain(raw ?? {}, 'query')));
      assert.deepEqual(bytesAsArrays(there), bytesAsArrays(here));
    }
  });

  test(`${module.name}: merge is commutative and associative, with the empty accumulator as identity, and mutates neither side`, async () => {
    await initHash();
    for (const raw of fixtures.queries) {
      const q = module.parseQuery(raw);
      const merge = module.generateMergeFun(q);
      await fc.assert(
        fc.asyncProperty(fixtures.inputs, fixtures.inputs, fixtures.inputs, async (x, y, z) => {
          const [a, b, c] = [await foldAll(q, x), await foldAll(q, y), await foldAll(q, z)];
          const [va, vb] = [view(q, a), view(q, b)];
          assert.deepEqual(view(q, merge(a, b)), view(q, merge(b, a)));
          assert.deepEqual(view(q, merge(merge(a, b), c)), view(q, merge(a, merge(b, c))));
          assert.deepEqual(view(q, merge(module.generateAcc(q), a)), va);
          assert.deepEqual(view(q, a), va);
          assert.deepEqual(view(q, b), vb);
        }),
        { numRuns },
      );
    }
  });

  test(`${module.name}: folding a split data set and merging equals folding the whole, within the bound`, async () => {
    await initHash();
    for (const raw of fixtures.queries) {
      const q = module.parseQuery(raw);
      const merge = module.generateMergeFun(q);
      await fc.assert(
        fc.asyncProperty(fixtures.inputs, fc.nat(), async (all, at) => {
          const cut = all.length === 0 ? 0 : at % (all.length + 1);
          const whole = await foldAll(q, all);
          const split = merge(await foldAll(q, all.slice(0, cut)), await foldAll(q, all.slice(cut)));
          assert.deepEqual(view(q, split), view(q, whole));
          assert.ok(module.accSize(split) <= module.accBound(q));
        }),
        { numRuns },
      );
    }
  });

  test(`${module.name}: an accumulator crosses back from a node: decode(encode(acc)) shows the same result`, async () => {
    await initHash();
    for (const raw of fixtures.queries) {
      const q = module.parseQuery(raw);
      await fc.assert(
        fc.asyncProperty(fixtures.inputs, async (inputs) => {
          const acc = await foldAll(q, inputs);
          const bytes = codec.encode(acc, q);
          assert.ok(bytes instanceof Uint8Array, 'an encoded accumulator is bytes');
          assert.deepEqual(view(q, codec.decode(bytes, q)), view(q, acc));
          // The empty accumulator too: a node that folded nothing answers with it.
          const empty = module.generateAcc(q);
          assert.deepEqual(view(q, codec.decode(codec.encode(empty, q), q)), view(q, empty));
        }),
        { numRuns: Math.max(10, Math.floor(numRuns / 3)) },
      );
    }
  });

  if (fixtures.overflow !== undefined) {
    const { query, inputs } = fixtures.overflow;
    test(`${module.name}: an accumulator past its bound is FOLD_ACC_OVERFLOW`, async () => {
      await initHash();
      const q = module.parseQuery(query);
      let caught: unknown;
      try {
        const acc = await foldAll(q, inputs);
        if (module.accSize(acc) > module.accBound(q)) throw new Error('unreachable: foldAll checks the bound');
      } catch (e) {
        caught = e;
      }
      assert.ok(isAaeError(caught, 'FOLD_ACC_OVERFLOW'), `expected FOLD_ACC_OVERFLOW, got ${String(caught)}`);
    });
  }
}

/** A value with every byte array as a plain array (Buffer and Uint8Array compare equal). */
function bytesAsArrays(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? { bytes: Array.from(x) } : x)));
}
