import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { preflist } from '../../src/cluster/ring.js';
import { isAaeError } from '../../src/errors.js';
import { decodeOffset, plan, sampleKeyspaces, type CoveragePlan, type PlanInput } from '../../src/plan/index.js';

/**
 * The planner's laws over random rings (8…1024 partitions, nVal 1…5, 1…16 nodes), offsets, pvc,
 * unavailable nodes and vnodes, and samples. Each law is checked against facts computed here
 * independently of the planner (which primaries are up, what each vnode holds).
 */

const RUNS = 150; // enough to hit short blocks, wrap-around and down nodes; each run is < 1 ms

interface Case {
  input: PlanInput & { offset: number; pvc: number };
  unavailableVnodes: Set<number>;
}

const ringArb = fc.record({
  ringSize: fc.constantFrom(8, 16, 32, 64, 128, 256, 512, 1024),
  nVal: fc.integer({ min: 1, max: 5 }),
  nodes: fc.integer({ min: 1, max: 16 }),
  ownerSeed: fc.integer({ min: 0, max: 2 ** 30 }),
});

/** Round-robin with a seeded shuffle of node names, so a node owns a scattered set of vnodes. */
function makeOwners(ringSize: number, nodes: number, seed: number): string[] {
  const names = Array.from({ length: nodes }, (_, i) => `node${i}`);
  let s = seed >>> 0;
  for (let i = names.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  return Array.from({ length: ringSize }, (_, v) => names[(v + (s % 7)) % nodes]!);
}

function caseArb(opts: { down: boolean; sample: boolean }): fc.Arbitrary<Case> {
  return ringArb.chain(({ ringSize, nVal, nodes, ownerSeed }) => {
    const owners = makeOwners(ringSize, nodes, ownerSeed);
    const names = [...new Set(owners)];
    return fc
      .record({
        offset: fc.integer({ min: 0, max: ringSize * nVal - 1 }),
        pvc: fc.integer({ min: 1, max: nVal }),
        downNodes: opts.down ? fc.subarray(names, { maxLength: Math.min(3, names.length) }) : fc.constant<string[]>([]),
        downVnodes: opts.down ? fc.uniqueArray(fc.integer({ min: 0, max: ringSize - 1 }), { maxLength: 6 }) : fc.constant([]),
        sample: opts.sample
          ? fc.option(
              fc.oneof(
                fc.record({ fraction: fc.double({ min: 0.001, max: 1, noNaN: true }) }),
                fc.record({ count: fc.integer({ min: 1, max: ringSize }) }),
              ),
              { nil: undefined },
            )
          : fc.constant(undefined),
      })
      .map(({ offset, pvc, downNodes, downVnodes, sample }) => {
        const unavailableVnodes = new Set<number>(downVnodes);
        owners.forEach((o, v) => {
          if (downNodes.includes(o)) unavailableVnodes.add(v);
        });
        const input: Case['input'] = {
          ringSize,
          nVal,
          owners,
          offset,
          pvc,
          selector: 'allup',
          unavailable: { nodes: downNodes, vnodes: downVnodes },
          ...(sample === undefined ? {} : { sample }),
        };
        return { input, unavailableVnodes };
      });
  });
}

/** How many times each keyspace is answered, and by which vnodes. */
function answersByKeyspace(p: CoveragePlan, ringSize: number): number[][] {
  const by: number[][] = Array.from({ length: ringSize }, () => []);
  for (const e of p.vnodes) for (const k of e.keyspaces) by[k]!.push(e.vnode);
  return by;
}

function wantedOf(input: Case['input']): number[] {
  const { ringSize, nVal, sample } = input;
  if (sample === undefined) return Array.from({ length: ringSize }, (_, k) => k);
  const count = 'count' in sample ? sample.count : Math.max(1, Math.ceil(sample.fraction * ringSize - 1e-9));
  return sampleKeyspaces(Math.min(count, ringSize), decodeOffset(input.offset, nVal).rotation, ringSize, nVal);
}

describe('plan laws', () => {
  test('entries: sorted unique vnodes, held keyspaces without repeats, filter exactly when fewer than nVal', () => {
    fc.assert(
      fc.property(caseArb({ down: true, sample: true }), ({ input, unavailableVnodes }) => {
        const p = plan(input);
        const vnodes = p.vnodes.map((e) => e.vnode);
        expect(vnodes).toEqual([...new Set(vnodes)].sort((a, b) => a - b));
        const bad = p.vnodes.filter(
          (e) =>
            unavailableVnodes.has(e.vnode) ||
            e.node !== input.owners[e.vnode] ||
            e.keyspaces.length === 0 ||
            new Set(e.keyspaces).size !== e.keyspaces.length ||
            e.keyspaces.some((k) => !preflist(k, input).includes(e.vnode)) ||
            (e.keyspaces.length < input.nVal ? e.filter?.join() !== e.keyspaces.join() : e.filter !== null),
        );
        expect(bad).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  test('coverage: each wanted keyspace answered min(pvc, available primaries) times by distinct vnodes; missing exactly when short', () => {
    fc.assert(
      fc.property(caseArb({ down: true, sample: true }), ({ input, unavailableVnodes }) => {
        const p = plan(input);
        const by = answersByKeyspace(p, input.ringSize);
        const wanted = wantedOf(input);
        const wantedSet = new Set(wanted);
        const missing: number[] = [];
        const wrong: Array<{ k: number; got: number[]; up: number }> = [];
        for (let k = 0; k < input.ringSize; k++) {
          const up = preflist(k, input).filter((v) => !unavailableVnodes.has(v)).length;
          const got = by[k]!;
          const expected = wantedSet.has(k) ? Math.min(input.pvc, up) : 0;
          if (new Set(got).size !== got.length || got.length !== expected) wrong.push({ k, got, up });
          if (wantedSet.has(k) && up < input.pvc) missing.push(k);
        }
        expect(wrong).toEqual([]);
        expect(p.missing).toEqual(missing);
        expect(p.covered).toEqual(wanted.filter((k) => !missing.includes(k)));
        expect(p.complete).toBe(missing.length === 0);
        expect(p.fraction).toBe(p.covered.length / input.ringSize);
        expect(p.offset).toBe(input.offset);
        expect(p.pvc).toBe(input.pvc);
      }),
      { numRuns: RUNS },
    );
  });

  test('all and allup: the same plan when complete; otherwise all throws PLAN_INCOMPLETE naming the missing keyspaces', () => {
    fc.assert(
      fc.property(caseArb({ down: true, sample: true }), ({ input }) => {
        const partial = plan(input);
        let thrown: unknown;
        let strict: CoveragePlan | undefined;
        try {
          strict = plan({ ...input, selector: 'all' });
        } catch (e) {
          thrown = e;
        }
        if (partial.complete) {
          expect(strict).toEqual(partial);
        } else {
          expect(isAaeError(thrown, 'PLAN_INCOMPLETE')).toBe(true);
          expect(isAaeError(thrown) && thrown.details?.['missing']).toEqual(partial.missing);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('the same offset gives the same plan', () => {
    fc.assert(
      fc.property(caseArb({ down: true, sample: true }), ({ input }) => {
        expect(plan({ ...input })).toEqual(plan({ ...input, owners: [...input.owners] }));
      }),
      { numRuns: 50 },
    );
  });

  test('a random offset is drawn from the injected source and reproduces as a forced one', () => {
    fc.assert(
      fc.property(ringArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (ring, r) => {
        const owners = makeOwners(ring.ringSize, ring.nodes, ring.ownerSeed);
        const base = { ringSize: ring.ringSize, nVal: ring.nVal, owners };
        const p = plan({ ...base, random: () => r });
        expect(p.offset).toBe(Math.floor(r * ring.ringSize * ring.nVal));
        expect(plan({ ...base, offset: p.offset })).toEqual(p);
      }),
      { numRuns: 50 },
    );
  });

  test('offsets r·nVal … r·nVal+nVal−1 ask a different vnode for every keyspace when all are up', () => {
    fc.assert(
      fc.property(
        ringArb.chain((ring) => fc.record({ ring: fc.constant(ring), rotation: fc.integer({ min: 0, max: ring.ringSize - 1 }) })),
        ({ ring, rotation }) => {
          const owners = makeOwners(ring.ringSize, ring.nodes, ring.ownerSeed);
          const askedBy: Array<Set<number>> = Array.from({ length: ring.ringSize }, () => new Set());
          for (let shift = 0; shift < ring.nVal; shift++) {
            const p = plan({ ringSize: ring.ringSize, nVal: ring.nVal, owners, offset: rotation * ring.nVal + shift });
            answersByKeyspace(p, ring.ringSize).forEach((vs, k) => {
              for (const v of vs) askedBy[k]!.add(v);
            });
          }
          // Each keyspace answered once per offset (complete, pvc 1), so nVal distinct vnodes in all.
          expect(askedBy.filter((s) => s.size !== ring.nVal).length).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('few vnodes: all up, at most pvc·(⌈ringSize/nVal⌉ + 1), and exactly ringSize/nVal when nVal divides the ring', () => {
    fc.assert(
      fc.property(caseArb({ down: false, sample: false }), ({ input }) => {
        const p = plan(input);
        const { ringSize, nVal, pvc } = input;
        expect(p.complete).toBe(true);
        expect(p.vnodes.length).toBeLessThanOrEqual(pvc * (Math.ceil(ringSize / nVal) + 1));
        if (ringSize % nVal === 0 && pvc === 1) expect(p.vnodes.length).toBe(ringSize / nVal);
      }),
      { numRuns: RUNS },
    );
  });

  test('a sample covers the fraction it reports, at least the fraction asked, spread around the ring', () => {
    fc.assert(
      fc.property(caseArb({ down: false, sample: true }), ({ input }) => {
        const p = plan(input);
        const { ringSize, nVal, sample } = input;
        expect(p.complete).toBe(true);
        expect(p.fraction).toBe(p.covered.length / ringSize);
        if (sample === undefined) {
          expect(p.fraction).toBe(1);
          return;
        }
        if ('count' in sample) expect(p.covered.length).toBe(sample.count);
        else {
          expect(p.fraction).toBeGreaterThanOrEqual(sample.fraction - 1e-9);
          // Never more than one keyspace over what was asked.
          expect(p.covered.length).toBeLessThanOrEqual(Math.max(1, Math.ceil(sample.fraction * ringSize)));
        }
        // Spread: chosen blocks are evenly spaced, so no circular gap between covered keyspaces is
        // wider than the spacing of the blocks plus one block.
        const blocks = Math.ceil(ringSize / nVal);
        const chosen = Math.ceil(p.covered.length / nVal);
        const bound = (Math.ceil(blocks / chosen) + 1) * nVal;
        const c = p.covered;
        let widest = 0;
        for (let i = 0; i < c.length; i++) {
          const next = i + 1 < c.length ? c[i + 1]! : c[0]! + ringSize;
          widest = Math.max(widest, next - c[i]!);
        }
        expect(widest).toBeLessThanOrEqual(bound);
        // Offsets that share a rotation sample the same keyspaces.
        const { rotation } = decodeOffset(input.offset, nVal);
        const sibling = plan({ ...input, offset: rotation * nVal + ((input.offset + 1) % nVal) });
        expect(sibling.covered).toEqual(p.covered);
      }),
      { numRuns: RUNS },
    );
  });
});
