/**
 * The shapes of a coverage plan: what a caller asks for and what the planner answers.
 * The rules that connect them are in `planner.ts`.
 */

/** `all`: every wanted keyspace must be covered or the plan fails; `allup`: cover what is up. */
export type PlanSelector = 'all' | 'allup';

/** Cover only part of the ring: a fraction in (0, 1] of its keyspaces, or a count of them. */
export type PlanSample = { fraction: number } | { count: number };

export interface PlanUnavailable {
  /** Nodes that are down or must not take part: every vnode they own is unavailable. */
  nodes?: readonly string[];
  /** Single vnodes that are unavailable (a vnode that is repairing, a disk that failed). */
  vnodes?: readonly number[];
}

export interface PlanInput {
  ringSize: number;
  nVal: number;
  /** vnode → the node that owns it; `owners.length === ringSize`. */
  owners: readonly string[];
  /**
   * An integer in 0 … ringSize·nVal − 1 that fixes the plan (see `offset.ts`). Offsets 0 … nVal−1
   * cover the same keyspaces from different replicas. Without it, `random` picks one.
   */
  offset?: number;
  /** Primary vnode count: how many distinct replicas answer for each keyspace. 1 … nVal. */
  pvc?: number;
  selector?: PlanSelector;
  unavailable?: PlanUnavailable;
  sample?: PlanSample;
  /** The random source for the offset when none is given: [0, 1) like Math.random. */
  random?: () => number;
}

export interface VnodeCoverage {
  vnode: number;
  node: string;
  /** The keyspaces this vnode answers for, ascending. Never empty, never repeated. */
  keyspaces: number[];
  /**
   * The same keyspaces when the vnode answers for fewer than the nVal it holds (it must filter its
   * fold to them); null when it answers for everything it holds.
   */
  filter: number[] | null;
}

export interface CoveragePlan {
  /** Ascending by vnode; each vnode appears once. */
  vnodes: VnodeCoverage[];
  /** Keyspaces answered `pvc` times, ascending. */
  covered: number[];
  /** Wanted keyspaces answered fewer than `pvc` times (possibly not at all), ascending. */
  missing: number[];
  /** covered.length / ringSize: the share of the ring whose answers are complete. */
  fraction: number;
  /** The offset used (the caller's, or the one drawn at random), so the plan can be repeated. */
  offset: number;
  pvc: number;
  /** True when every wanted keyspace is answered `pvc` times. */
  complete: boolean;
}
