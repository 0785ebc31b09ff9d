import fc from 'fast-check';
import { beforeAll, expect, test } from 'vitest';
import { isAaeError } from '../errors.js';
import { MAX_INPUT_BATCH, parseFoldQuery, type CoverageSummary, type FlushContext, type FoldInput, type FoldModule, type FoldTarget } from '../fold/index.js';
import { initHash } from '../hash/index.js';

/**
 * The compliance suite every fold module passes (one contract, one suite), shipped in the package
 * so that module authors run it on their own modules (docs/FOLDS.md). It runs under vitest and
 * draws data with fast-check: both are the author's dev dependencies (optional peers here), and
 * nothing in the library imports this file. For each valid query,
 *   merge is commutative and associative, the empty accumulator is its identity and it mutates
 *   neither argument; folding a data set split in two and merging equals folding the whole; the
 *   accumulator stays within its declared bound;
 * and bad queries are refused with FOLD_QUERY_INVALID. Results are compared through the module's
 * summary (its JSON), so list order and representation do not matter — only content.
 */

export interface FoldModuleFixtures {
  /** Valid queries (raw input, as a caller would pass it). */
  queries: unknown[];
  /** Inputs that parseQuery must refuse. */
  badQueries: unknown[];
  /** Data sets as the runner would hand them to this module. */
  inputs: fc.Arbitrary<FoldInput[]>;
  /** Optional: a query and inputs that must overflow the accumulator (FOLD_ACC_OVERFLOW). */
  overflow?: { query: unknown; inputs: FoldInput[] };
  numRuns?: number;
}

const WHOLE: CoverageSummary = { fraction: 1, keyspaces: [0, 1, 2, 3, 4, 5, 6, 7], ringSize: 8 };

/** A flush context with no cluster behind it: only count-only queries may use one. */
function offlineContext(final: boolean): FlushContext {
  const target: FoldTarget = {
    spec: { ringSize: 8, nVal: 3, treeSize: 'xxsmall', hashMethod: 'clock', seed: 0 },
    owners: Array.from({ length: 8 }, () => 'n1'),
    vnode: () => {
      throw new Error('the compliance suite has no vnodes');
    },
  };
  return { final, vnode: undefined as never, target, signal: new AbortController().signal, sink: async () => undefined };
}

export function foldModuleSuite<Q, A>(module: FoldModule<Q, A>, fixtures: FoldModuleFixtures): void {
  const numRuns = fixtures.numRuns ?? 60;
  beforeAll(async () => {
    await initHash();
  });

  /** Folds as the runner folds one vnode: batches, a flush after each, a final flush. */
  async function foldAll(q: Q, inputs: readonly FoldInput[]): Promise<A> {
    const fold = module.generateObjectFoldFun(q);
    const flush = module.generateFlushFun?.(q);
    let acc = module.generateAcc(q);
    for (let i = 0; i < inputs.length; i += MAX_INPUT_BATCH) {
      for (const input of inputs.slice(i, i + MAX_INPUT_BATCH)) acc = fold(acc, input);
      if (flush !== undefined) acc = await flush(acc, offlineContext(false));
      expect(module.accSize(acc)).toBeLessThanOrEqual(module.accBound(q));
    }
    if (flush !== undefined) acc = await flush(acc, offlineContext(true));
    expect(module.accSize(acc)).toBeLessThanOrEqual(module.accBound(q));
    return acc;
  }

  const view = (q: Q, acc: A): unknown => JSON.parse(JSON.stringify(module.summarize?.(acc, q, WHOLE).json ?? acc, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)));

  test(`${module.name}: declares the contract`, () => {
    expect(module.name).toMatch(/^[a-z_]+$/);
    expect(module.apiVersion).toBe(1);
    for (const raw of fixtures.queries) {
      const q = module.parseQuery(raw);
      expect(['heads', 'objects', 'hash_size_only', 'index', 'tree_cache']).toContain(module.stateNeeds(q));
      expect(module.accSize(module.generateAcc(q))).toBeLessThanOrEqual(module.accBound(q));
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
      expect(isAaeError(caught, 'FOLD_QUERY_INVALID'), `query ${JSON.stringify(bad)} was not refused`).toBe(true);
    }
  });

  test(`${module.name}: merge is commutative and associative, with the empty accumulator as identity, and mutates neither side`, async () => {
    for (const raw of fixtures.queries) {
      const q = module.parseQuery(raw);
      const merge = module.generateMergeFun(q);
      await fc.assert(
        fc.asyncProperty(fixtures.inputs, fixtures.inputs, fixtures.inputs, async (x, y, z) => {
          const [a, b, c] = [await foldAll(q, x), await foldAll(q, y), await foldAll(q, z)];
          const [va, vb] = [view(q, a), view(q, b)];
          expect(view(q, merge(a, b))).toEqual(view(q, merge(b, a)));
          expect(view(q, merge(merge(a, b), c))).toEqual(view(q, merge(a, merge(b, c))));
          expect(view(q, merge(module.generateAcc(q), a))).toEqual(va);
          expect(view(q, a)).toEqual(va);
          expect(view(q, b)).toEqual(vb);
        }),
        { numRuns },
      );
    }
  });

  test(`${module.name}: folding a split data set and merging equals folding the whole, within the bound`, async () => {
    for (const raw of fixtures.queries) {
      const q = module.parseQuery(raw);
      const merge = module.generateMergeFun(q);
      await fc.assert(
        fc.asyncProperty(fixtures.inputs, fc.nat(), async (all, at) => {
          const cut = all.length === 0 ? 0 : at % (all.length + 1);
          const whole = await foldAll(q, all);
          const split = merge(await foldAll(q, all.slice(0, cut)), await foldAll(q, all.slice(cut)));
          expect(view(q, split)).toEqual(view(q, whole));
          expect(module.accSize(split)).toBeLessThanOrEqual(module.accBound(q));
        }),
        { numRuns },
      );
    }
  });

  if (fixtures.overflow !== undefined) {
    const { query, inputs } = fixtures.overflow;
    test(`${module.name}: an accumulator past its bound is FOLD_ACC_OVERFLOW`, async () => {
      const q = module.parseQuery(query);
      let caught: unknown;
      try {
        const acc = await foldAll(q, inputs);
        if (module.accSize(acc) > module.accBound(q)) throw new Error('unreachable: foldAll checks the bound');
      } catch (e) {
        caught = e;
      }
      expect(isAaeError(caught, 'FOLD_ACC_OVERFLOW')).toBe(true);
    });
  }
}
