import { AaeError } from '../errors.js';
import { validateRing } from './ring.js';

/**
 * Claim: which node owns each vnode.
 *
 * A key's preflist is nVal consecutive vnodes, k … k+nVal−1 (mod ringSize), so the claim is safe —
 * no preflist holds two replicas on one node — exactly when any two vnodes less than nVal apart
 * around the ring (the last vnodes and the first ones are neighbours too) have different owners.
 *
 * When is that possible? A node's vnodes must be at least nVal apart, so one node can own at most
 * q = ⌊ringSize / nVal⌋ of them, and N nodes can cover the ring only if N·q ≥ ringSize. That is also
 * enough: cut the ring into ⌈ringSize/N⌉ runs of between nVal and N vnodes and deal each run to
 * distinct nodes. So a safe claim exists iff N ≥ ⌈ringSize / ⌊ringSize / nVal⌋⌉ (this is the
 * chromatic number of the (nVal−1)-th power of a cycle). It is more than nVal more often than one
 * might think: a ring of 64 with nVal 3 needs 4 nodes, because 64 = 21·3 + 1 and 3 nodes × 21 < 64 —
 * Riak's "not all replicas will be on distinct nodes" warning for three-node clusters.
 *
 * How: deal round-robin (0, 1, …, N−1, 0, 1, …). That is safe whenever ringSize mod N is 0 or at
 * least nVal; otherwise the join between the tail and the head puts a node too close to itself, and
 * the tail must be re-dealt, as Riak's claim fixes the wrap-around. We do it by a depth-first search
 * that deals each vnode to the least recently used node still allowed, under three constraints: the
 * node did not own any of the previous nVal−1 vnodes; near the end, it does not own any of the first
 * vnodes within nVal of wrapping; and it stays within the balance quota — every node ends with
 * ⌊ringSize/N⌋ or ⌈ringSize/N⌉ vnodes. A node that could no longer reach its quota in the vnodes
 * left prunes the branch, so the search backtracks only near the tail. The search has a step budget;
 * if it runs out (no case in the tested domain does), a block construction that is always safe, but
 * not always balanced, takes over.
 *
 * Guarantee, checked exhaustively by test/cluster/claim.test.ts for ring sizes 8…1024, 1…16 nodes
 * and nVal 1…5: when N ≥ minNodesForSafeClaim the claim is safe and every node owns ⌊R/N⌋ or ⌈R/N⌉
 * vnodes; otherwise it is round-robin (balanced), `safe` is false and `reason` says why.
 * Deterministic: the same (ringSize, nodes, nVal) always gives the same owners.
 */

export interface Claim {
  /** vnode → node name; length ringSize. */
  owners: string[];
  /** No preflist holds two replicas on one node. */
  safe: boolean;
  /** Keyspaces whose preflist names a node twice, ascending. */
  violations: number[];
  /** Why the claim is not safe (absent when it is). */
  reason?: string;
}

/**
 * Search steps before falling back to the block construction. The tested domain needs at most a
 * few thousand; the bound keeps a pathological input (hundreds of nodes) from stalling a caller.
 */
const SEARCH_BUDGET = 200_000;

/** The fewest nodes that can hold a safe claim: ⌈R / ⌊R / nVal⌋⌉ (R itself when R < 2·nVal). */
export function minNodesForSafeClaim(ringSize: number, nVal: number): number {
  validateRing({ ringSize, nVal });
  return Math.ceil(ringSize / Math.floor(ringSize / nVal));
}

export function claim(ringSize: number, nodes: readonly string[], nVal: number): Claim {
  validateRing({ ringSize, nVal });
  if (nodes.length === 0) throw new AaeError('RING_INVALID', 'a claim needs at least one node');
  if (new Set(nodes).size !== nodes.length) throw new AaeError('RING_INVALID', 'node names must be unique');

  const n = nodes.length;
  const needed = minNodesForSafeClaim(ringSize, nVal);
  let dealt: number[];
  let reason: string | undefined;
  if (n >= needed) {
    dealt = balancedDeal(ringSize, n, nVal) ?? blockDeal(ringSize, n, nVal);
  } else {
    dealt = roundRobin(ringSize, n);
    reason =
      n < nVal
        ? `${n} node${n === 1 ? '' : 's'} cannot hold ${nVal} replicas on distinct nodes`
        : `a ring of ${ringSize} with nVal ${nVal} needs at least ${needed} nodes for every preflist to hold distinct nodes ` +
          `(a node can own at most ${Math.floor(ringSize / nVal)} vnodes spaced ${nVal} apart; ${n} × ${Math.floor(ringSize / nVal)} < ${ringSize})`;
  }
  const violations = claimViolations(dealt, nVal);
  if (reason === undefined && violations.length > 0) {
    throw new AaeError('INTERNAL', `claim produced an unsafe ring (${ringSize}, ${n} nodes, nVal ${nVal})`);
  }
  const result: Claim = { owners: dealt.map((i) => nodes[i]!), safe: violations.length === 0, violations };
  if (reason !== undefined) result.reason = reason;
  return result;
}

/** Keyspaces whose preflist (k … k+nVal−1 mod R) repeats an owner. Owners may be any comparable values. */
export function claimViolations<T>(owners: readonly T[], nVal: number): number[] {
  const r = owners.length;
  const out: number[] = [];
  for (let k = 0; k < r; k++) {
    let bad = false;
    for (let i = 0; i < nVal && !bad; i++) {
      for (let j = i + 1; j < nVal; j++) {
        if (owners[(k + i) % r] === owners[(k + j) % r]) {
          bad = true;
          break;
        }
      }
    }
    if (bad) out.push(k);
  }
  return out;
}

/** The vnodes a node owns, ascending. */
export function vnodesOf(c: Claim, node: string): number[] {
  const out: number[] = [];
  c.owners.forEach((o, v) => {
    if (o === node) out.push(v);
  });
  return out;
}

function roundRobin(r: number, n: number): number[] {
  return Array.from({ length: r }, (_, i) => i % n);
}

/**
 * Depth-first search for a safe, balanced deal (see the essay above). Returns node indexes, or
 * undefined when the budget runs out. Exported for its test; callers use `claim`.
 */
export function balancedDeal(r: number, n: number, nVal: number): number[] | undefined {
  const lo = Math.floor(r / n);
  const hi = Math.ceil(r / n);
  const extra = r - lo * n; // how many nodes own hi vnodes
  const owner = new Array<number>(r).fill(-1);
  const count = new Array<number>(n).fill(0);
  const first = new Array<number>(n).fill(-1);
  const last = new Array<number>(n).fill(-1);
  let atHi = 0; // nodes that already own hi > lo vnodes
  let steps = 0;

  /** The most vnodes node x can still take in [from, r): spaced nVal apart, clear of its first vnode across the wrap. */
  const room = (x: number, from: number): number => {
    const start = last[x]! < 0 ? from : Math.max(from, last[x]! + nVal);
    const end = first[x]! < 0 ? r - 1 : Math.min(r - 1, first[x]! + r - nVal);
    return end < start ? 0 : Math.floor((end - start) / nVal) + 1;
  };

  const feasible = (from: number): boolean => {
    let need = 0;
    for (let x = 0; x < n; x++) {
      const short = lo - count[x]!;
      if (short > 0) {
        if (room(x, from) < short) return false;
        need += short;
      }
    }
    // Every node still short of lo, plus the nodes that may still go to hi, must fit what is left.
    return need <= r - from && need + (extra - atHi) >= r - from;
  };

  const allowed = (x: number, i: number): boolean => {
    if (last[x]! >= 0 && i - last[x]! < nVal) return false;
    if (first[x]! >= 0 && first[x]! + r - i < nVal) return false; // too close across the wrap
    const c = count[x]!;
    return c < lo || (c < hi && atHi < extra);
  };

  const place = (i: number): boolean => {
    if (i === r) return true;
    if (++steps > SEARCH_BUDGET) return false;
    const candidates: number[] = [];
    for (let x = 0; x < n; x++) if (allowed(x, i)) candidates.push(x);
    // Least recently used first; never-used nodes (last = −1) by index: round-robin when unconstrained.
    candidates.sort((a, b) => last[a]! - last[b]! || a - b);
    for (const x of candidates) {
      const prevLast = last[x]!;
      const prevFirst = first[x]!;
      owner[i] = x;
      count[x]!++;
      const toHi = count[x] === hi && hi > lo;
      if (toHi) atHi++;
      last[x] = i;
      if (prevFirst < 0) first[x] = i;
      if (feasible(i + 1) && place(i + 1)) return true;
      if (steps > SEARCH_BUDGET) return false;
      owner[i] = -1;
      count[x]!--;
      if (toHi) atHi--;
      last[x] = prevLast;
      first[x] = prevFirst;
    }
    return false;
  };

  return place(0) ? owner : undefined;
}

/**
 * The always-safe construction (needs n ≥ minNodesForSafeClaim): c = ⌈r/n⌉ runs of between nVal and
 * n vnodes, dealt round-robin; between runs the deal skips ahead by at most n − nVal nodes, so the
 * total advance is a multiple of n and the ring closes without a node repeating within nVal. Balance
 * is not guaranteed: the skips can fall on the same node run after run, leaving it short. Exported
 * for its own test; callers use `claim`.
 */
export function blockDeal(r: number, n: number, nVal: number): number[] {
  const c = Math.ceil(r / n);
  const skips = c * n - r;
  const out: number[] = [];
  let counter = 0;
  for (let j = 0; j < c; j++) {
    const len = Math.floor(((j + 1) * r) / c) - Math.floor((j * r) / c);
    for (let t = 0; t < len; t++) out.push(counter++ % n);
    counter += Math.floor(((j + 1) * skips) / c) - Math.floor((j * skips) / c);
  }
  return out;
}
