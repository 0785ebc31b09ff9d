import { describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import { plan, type CoveragePlan, type PlanInput } from '../../src/plan/index.js';

/**
 * Exact plans for a 16-partition ring with nVal 3 (16 = 5·3 + 1: one short block, the case that
 * riak_core's rotation handles unevenly). Nodes n0…n3 own vnodes round-robin: n1 owns 1, 5, 9, 13.
 * Vnode v holds keyspaces v, v−1, v−2.
 */

const owners = Array.from({ length: 16 }, (_, v) => `n${v % 4}`);
const base: PlanInput = { ringSize: 16, nVal: 3, owners };

/** [vnode, keyspaces] per entry; a trailing '*' on the vnode marks a filter. */
function brief(p: CoveragePlan): Array<[string, number[]]> {
  return p.vnodes.map((e) => [`${e.vnode}${e.filter ? '*' : ''}`, e.keyspaces]);
}

const all16 = Array.from({ length: 16 }, (_, k) => k);

describe('16 partitions, nVal 3', () => {
  test('offset 0: every third vnode from 2, and vnode 1 filtered to the short block', () => {
    const p = plan({ ...base, offset: 0 });
    expect(p.vnodes).toEqual([
      { vnode: 1, node: 'n1', keyspaces: [15], filter: [15] },
      { vnode: 2, node: 'n2', keyspaces: [0, 1, 2], filter: null },
      { vnode: 5, node: 'n1', keyspaces: [3, 4, 5], filter: null },
      { vnode: 8, node: 'n0', keyspaces: [6, 7, 8], filter: null },
      { vnode: 11, node: 'n3', keyspaces: [9, 10, 11], filter: null },
      { vnode: 14, node: 'n2', keyspaces: [12, 13, 14], filter: null },
    ]);
    expect(p).toMatchObject({ covered: all16, missing: [], fraction: 1, offset: 0, pvc: 1, complete: true });
  });

  test('offsets 1 and 2 ask other replicas for every keyspace', () => {
    expect(brief(plan({ ...base, offset: 1 }))).toEqual([
      ['0*', [0]],
      ['3', [1, 2, 3]],
      ['6', [4, 5, 6]],
      ['9', [7, 8, 9]],
      ['12', [10, 11, 12]],
      ['15', [13, 14, 15]],
    ]);
    expect(brief(plan({ ...base, offset: 2 }))).toEqual([
      ['0*', [14, 15]],
      ['1*', [0, 1]],
      ['4', [2, 3, 4]],
      ['7', [5, 6, 7]],
      ['10', [8, 9, 10]],
      ['13', [11, 12, 13]],
    ]);
  });

  test('offset 3 rotates the tiling by one keyspace', () => {
    expect(brief(plan({ ...base, offset: 3 }))).toEqual([
      ['2*', [0]],
      ['3', [1, 2, 3]],
      ['6', [4, 5, 6]],
      ['9', [7, 8, 9]],
      ['12', [10, 11, 12]],
      ['15', [13, 14, 15]],
    ]);
  });

  test('a down vnode: its keyspaces go to neighbours that hold them, filtered', () => {
    const p = plan({ ...base, offset: 0, unavailable: { vnodes: [5] } });
    expect(brief(p)).toEqual([
      ['1*', [15]],
      ['2', [0, 1, 2]],
      ['3*', [3]],
      ['6*', [4, 5]],
      ['8', [6, 7, 8]],
      ['11', [9, 10, 11]],
      ['14', [12, 13, 14]],
    ]);
    expect(p.complete).toBe(true);
  });

  test('a down node: none of its vnodes (1, 5, 9, 13) is asked', () => {
    const p = plan({ ...base, offset: 0, unavailable: { nodes: ['n1'] } });
    expect(brief(p)).toEqual([
      ['2', [0, 1, 2]],
      ['3*', [3]],
      ['6*', [4, 5]],
      ['8', [6, 7, 8]],
      ['11', [9, 10, 11]],
      ['14', [12, 13, 14]],
      ['15*', [15]],
    ]);
  });

  test('pvc 2: two distinct replicas per keyspace (shifts 0 and 1 together)', () => {
    const p = plan({ ...base, offset: 0, pvc: 2 });
    expect(brief(p)).toEqual([
      ['0*', [0]],
      ['1*', [15]],
      ['2', [0, 1, 2]],
      ['3', [1, 2, 3]],
      ['5', [3, 4, 5]],
      ['6', [4, 5, 6]],
      ['8', [6, 7, 8]],
      ['9', [7, 8, 9]],
      ['11', [9, 10, 11]],
      ['12', [10, 11, 12]],
      ['14', [12, 13, 14]],
      ['15', [13, 14, 15]],
    ]);
    expect(p.pvc).toBe(2);
  });

  test('all three primaries of keyspace 5 down: all fails naming it, allup returns the rest', () => {
    const unavailable = { vnodes: [5, 6, 7] };
    let thrown: unknown;
    try {
      plan({ ...base, offset: 0, unavailable });
    } catch (e) {
      thrown = e;
    }
    expect(isAaeError(thrown, 'PLAN_INCOMPLETE')).toBe(true);
    expect(isAaeError(thrown) && thrown.details?.['missing']).toEqual([5]);

    const p = plan({ ...base, offset: 0, unavailable, selector: 'allup' });
    expect(p.complete).toBe(false);
    expect(p.missing).toEqual([5]);
    expect(p.covered).toEqual(all16.filter((k) => k !== 5));
    expect(p.fraction).toBe(15 / 16);
    expect(brief(p)).toEqual([
      ['1*', [15]],
      ['2', [0, 1, 2]],
      ['3*', [3]],
      ['4*', [4]],
      ['8', [6, 7, 8]],
      ['11', [9, 10, 11]],
      ['14', [12, 13, 14]],
    ]);
  });

  test('a quarter sample: two blocks spread around the ring, the second cut to fit', () => {
    const p = plan({ ...base, offset: 0, sample: { fraction: 0.25 } });
    expect(brief(p)).toEqual([
      ['2', [0, 1, 2]],
      ['11*', [9]],
    ]);
    expect(p).toMatchObject({ covered: [0, 1, 2, 9], missing: [], fraction: 0.25, complete: true });
    // The same keyspaces from other replicas at offset 1.
    expect(plan({ ...base, offset: 1, sample: { count: 4 } }).covered).toEqual([0, 1, 2, 9]);
  });

  test('without an offset the injected random source picks it', () => {
    const p = plan({ ...base, random: () => 0.5 });
    expect(p.offset).toBe(24); // ⌊0.5 · 16 · 3⌋
    expect(p).toEqual(plan({ ...base, offset: 24 }));
  });
});

describe('bad requests are PLAN_INVALID', () => {
  test.each<[string, Partial<PlanInput>]>([
    ['pvc above nVal', { pvc: 4 }],
    ['pvc 0', { pvc: 0 }],
    ['offset past ringSize·nVal', { offset: 48 }],
    ['negative offset', { offset: -1 }],
    ['fractional offset', { offset: 1.5 }],
    ['unknown node', { unavailable: { nodes: ['n9'] } }],
    ['vnode out of range', { unavailable: { vnodes: [16] } }],
    ['sample fraction 0', { sample: { fraction: 0 } }],
    ['sample fraction above 1', { sample: { fraction: 1.5 } }],
    ['sample count 0', { sample: { count: 0 } }],
    ['sample count above ringSize', { sample: { count: 17 } }],
    ['owners of the wrong length', { owners: owners.slice(1) }],
  ])('%s', (_name, patch) => {
    expect(() => plan({ ...base, offset: 0, ...patch })).toThrow(expect.objectContaining({ code: 'PLAN_INVALID' }));
  });

  test('a ring that is not a ring is RING_INVALID', () => {
    expect(() => plan({ ...base, ringSize: 12, owners: owners.slice(0, 12) })).toThrow(
      expect.objectContaining({ code: 'RING_INVALID' }),
    );
  });
});
