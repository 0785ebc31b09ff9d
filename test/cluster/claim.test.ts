import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import { balancedDeal, blockDeal, claim, claimViolations, minNodesForSafeClaim, vnodesOf } from '../../src/cluster/claim.js';
import { preflist } from '../../src/cluster/ring.js';

const RING_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024];
const names = (count: number): string[] => Array.from({ length: count }, (_, i) => `n${i + 1}`);

function counts(owners: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of owners) m.set(o, (m.get(o) ?? 0) + 1);
  return m;
}

/** Violations straight from the definition: a keyspace's preflist (ring.ts) names a node twice. */
function violationsByDefinition(owners: readonly string[], nVal: number): number[] {
  const ringSize = owners.length;
  const out: number[] = [];
  for (let k = 0; k < ringSize; k++) {
    const onNodes = preflist(k, { ringSize, nVal }).map((v) => owners[v]);
    if (new Set(onNodes).size !== onNodes.length) out.push(k);
  }
  return out;
}

/** Is there any k-colouring of the ring with every nVal consecutive vnodes distinct? (brute force) */
function colourable(ringSize: number, nVal: number, k: number): boolean {
  const c = new Array<number>(ringSize).fill(-1);
  const ok = (i: number, x: number): boolean => {
    for (let d = 1; d < nVal; d++) {
      if (i - d >= 0 && c[i - d] === x) return false;
      const ahead = i + d - ringSize; // positions at the start, reached across the wrap
      if (ahead >= 0 && c[ahead] === x) return false;
    }
    return true;
  };
  const go = (i: number): boolean => {
    if (i === ringSize) return true;
    // Symmetry: position i may use at most one colour beyond those used so far.
    const maxColour = Math.min(k - 1, Math.max(-1, ...c.slice(0, i)) + 1);
    for (let x = 0; x <= maxColour; x++) {
      if (!ok(i, x)) continue;
      c[i] = x;
      if (go(i + 1)) return true;
      c[i] = -1;
    }
    return false;
  };
  return go(0);
}

describe('claim: exhaustive over ring 8…1024 × nodes 1…16 × nVal 1…5', () => {
  test('safe exactly when nodes ≥ minNodesForSafeClaim, balanced always, violations as defined', () => {
    let safeCases = 0;
    for (const ringSize of RING_SIZES) {
      for (let n = 1; n <= 16; n++) {
        for (let nVal = 1; nVal <= 5; nVal++) {
          const nodes = names(n);
          const c = claim(ringSize, nodes, nVal);
          const where = `ring ${ringSize}, ${n} nodes, nVal ${nVal}`;
          expect(c.owners, where).toHaveLength(ringSize);
          expect(c.owners.every((o) => nodes.includes(o)), where).toBe(true);
          expect(c.violations, where).toEqual(violationsByDefinition(c.owners, nVal));
          const shouldBeSafe = n >= minNodesForSafeClaim(ringSize, nVal);
          expect(c.safe, where).toBe(shouldBeSafe);
          expect(c.safe, where).toBe(c.violations.length === 0);
          if (c.safe) {
            safeCases++;
            expect(c.reason, where).toBeUndefined();
          } else {
            expect(c.reason, where).toMatch(/nodes/);
          }
          // Balance: ⌊R/N⌋ or ⌈R/N⌉ vnodes each, safe or not.
          const lo = Math.floor(ringSize / n);
          const hi = Math.ceil(ringSize / n);
          const cs = counts(c.owners);
          for (const node of nodes) {
            const k = cs.get(node) ?? 0;
            expect(k >= lo && k <= hi, `${where}: ${node} owns ${k}`).toBe(true);
          }
        }
      }
    }
    // Every case with nodes ≥ nVal except the ones that are impossible: a sanity count, so that a
    // broken minNodesForSafeClaim returning 1 everywhere cannot pass the loop above.
    expect(safeCases).toBeGreaterThan(500);
  });

  test('whenever nodes ≥ nVal and ringSize mod nodes is 0 or ≥ nVal, the claim is plain round-robin', () => {
    for (const ringSize of RING_SIZES) {
      for (let n = 1; n <= 16; n++) {
        for (let nVal = 1; nVal <= Math.min(5, n); nVal++) {
          const s = ringSize % n;
          if (s !== 0 && s < nVal) continue;
          const nodes = names(n);
          expect(claim(ringSize, nodes, nVal).owners).toEqual(Array.from({ length: ringSize }, (_, i) => nodes[i % n]));
        }
      }
    }
  });
});

describe('minNodesForSafeClaim', () => {
  test('matches a brute-force colouring search on small rings', () => {
    for (const ringSize of [8, 16, 32]) {
      for (let nVal = 1; nVal <= 5; nVal++) {
        const m = minNodesForSafeClaim(ringSize, nVal);
        expect(colourable(ringSize, nVal, m), `${ringSize}/${nVal} with ${m}`).toBe(true);
        if (m > 1) expect(colourable(ringSize, nVal, m - 1), `${ringSize}/${nVal} with ${m - 1}`).toBe(false);
      }
    }
  });

  test('known values', () => {
    expect(minNodesForSafeClaim(64, 3)).toBe(4); // 64 = 21·3 + 1
    expect(minNodesForSafeClaim(64, 2)).toBe(2);
    expect(minNodesForSafeClaim(64, 4)).toBe(4);
    expect(minNodesForSafeClaim(64, 5)).toBe(6);
    expect(minNodesForSafeClaim(8, 5)).toBe(8); // every vnode is within 4 of every other
    expect(minNodesForSafeClaim(1024, 3)).toBe(4);
    expect(minNodesForSafeClaim(16, 1)).toBe(1);
  });
});

describe('claim: examples', () => {
  test('the default cluster (3 nodes, ring 64, nVal 3) cannot be safe; it says why and where', () => {
    const c = claim(64, names(3), 3);
    expect(c.safe).toBe(false);
    expect(c.violations).toEqual([62, 63]); // the wrap-around: …, n3, n1 | n1, n2, …
    expect(c.reason).toContain('needs at least 4 nodes');
    expect(c.reason).toContain('3 × 21 < 64');
  });

  test('fewer nodes than nVal: every preflist repeats a node', () => {
    const c = claim(16, names(2), 3);
    expect(c.safe).toBe(false);
    expect(c.violations).toHaveLength(16);
    expect(c.reason).toBe('2 nodes cannot hold 3 replicas on distinct nodes');
    expect(claim(8, names(1), 2).reason).toBe('1 node cannot hold 2 replicas on distinct nodes');
  });

  test('4 nodes on 64 with nVal 3: round-robin', () => {
    const c = claim(64, ['a', 'b', 'c', 'd'], 3);
    expect(c.safe).toBe(true);
    expect(c.owners.slice(0, 8)).toEqual(['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd']);
  });

  test('the tail is re-dealt when ringSize mod nodes < nVal (16 vnodes, 5 nodes, nVal 4)', () => {
    const c = claim(16, names(5), 4);
    expect(c.safe).toBe(true);
    expect([...counts(c.owners).values()].sort()).toEqual([3, 3, 3, 3, 4]);
    // Round-robin would put n1 at vnode 15 and vnode 0.
    expect(claimViolations(Array.from({ length: 16 }, (_, i) => i % 5), 4).length).toBeGreaterThan(0);
  });

  test('more nodes than vnodes: each vnode on its own node, the rest own nothing', () => {
    const c = claim(8, names(12), 5);
    expect(c.safe).toBe(true);
    expect(new Set(c.owners).size).toBe(8);
    expect(vnodesOf(c, 'n12')).toEqual([]);
  });

  test('vnodesOf lists a node’s vnodes ascending', () => {
    const c = claim(16, names(4), 3);
    expect(vnodesOf(c, 'n2')).toEqual([1, 5, 9, 13]);
  });

  test('deterministic, and the node names only label the deal', () => {
    const a = claim(256, names(7), 3);
    expect(claim(256, names(7), 3)).toEqual(a);
    const b = claim(256, names(7).map((x) => `host-${x}`), 3);
    expect(b.owners).toEqual(a.owners.map((x) => `host-${x}`));
  });

  test('bad input is RING_INVALID', () => {
    const codeOf = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isAaeError(e) ? e.code : 'not an AaeError';
      }
      return undefined;
    };
    expect(codeOf(() => claim(64, [], 3))).toBe('RING_INVALID');
    expect(codeOf(() => claim(64, ['a', 'a'], 1))).toBe('RING_INVALID');
    expect(codeOf(() => claim(48, ['a'], 1))).toBe('RING_INVALID');
    expect(codeOf(() => claim(2048, ['a'], 1))).toBe('RING_INVALID');
    expect(codeOf(() => claim(64, ['a'], 6))).toBe('RING_INVALID');
    expect(codeOf(() => claim(64, ['a'], 0))).toBe('RING_INVALID');
  });

  test('larger clusters (17…40 nodes) stay safe and balanced', () => {
    for (const ringSize of [64, 256, 1024]) {
      for (let n = 17; n <= 40; n += 3) {
        for (let nVal = 1; nVal <= 5; nVal++) {
          const c = claim(ringSize, names(n), nVal);
          expect(c.safe).toBe(n >= minNodesForSafeClaim(ringSize, nVal));
          const ks = [...counts(c.owners).values()];
          expect(Math.max(...ks) - Math.min(...ks, ...(ks.length < n ? [0] : []))).toBeLessThanOrEqual(1);
        }
      }
    }
  });
});

describe('balancedDeal and blockDeal', () => {
  test('the search succeeds within its budget on every feasible case of the domain (no fallback)', () => {
    for (const ringSize of RING_SIZES) {
      for (let n = 1; n <= 16; n++) {
        for (let nVal = 1; nVal <= 5; nVal++) {
          if (n < minNodesForSafeClaim(ringSize, nVal)) continue;
          expect(balancedDeal(ringSize, n, nVal), `${ringSize}/${n}/${nVal}`).toBeDefined();
        }
      }
    }
  });


  test('safe for every feasible case of the domain (balance is the search’s job)', () => {
    for (const ringSize of RING_SIZES) {
      for (let n = 1; n <= 16; n++) {
        for (let nVal = 1; nVal <= 5; nVal++) {
          if (n < minNodesForSafeClaim(ringSize, nVal)) continue;
          const owners = blockDeal(ringSize, n, nVal);
          expect(owners).toHaveLength(ringSize);
          expect(owners.every((o) => Number.isInteger(o) && o >= 0 && o < n)).toBe(true);
          expect(claimViolations(owners, nVal), `${ringSize}/${n}/${nVal}`).toEqual([]);
        }
      }
    }
  });
});

describe('claimViolations', () => {
  test('agrees with the preflist definition on random owner arrays', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 16, 32),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.infiniteStream(fc.nat()),
        (ringSize, nVal, n, stream) => {
          const it = stream[Symbol.iterator]();
          const owners = Array.from({ length: ringSize }, () => `n${(it.next().value as number) % n}`);
          expect(claimViolations(owners, nVal)).toEqual(violationsByDefinition(owners, nVal));
        },
      ),
      { numRuns: 200 },
    );
  });
});
