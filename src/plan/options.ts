import { validateRing } from '../cluster/ring.js';
import { AaeError } from '../errors.js';
import { offsetCount } from './tiling.js';
import type { PlanInput, PlanSelector } from './types.js';

/**
 * Validation of a plan request: everything a caller can get wrong becomes a PLAN_INVALID (or the
 * ring's RING_INVALID) here, so the planner receives exactly the types it expects.
 */

export interface NormalPlanInput {
  ringSize: number;
  nVal: number;
  owners: readonly string[];
  offset: number;
  pvc: number;
  selector: PlanSelector;
  /** 1 where the vnode may not serve coverage, per vnode. */
  unavailable: Uint8Array;
  /** How many keyspaces to cover: ringSize unless sampling. */
  wantedCount: number;
}

export function normalisePlanInput(input: PlanInput): NormalPlanInput {
  const { ringSize, nVal, owners } = input;
  validateRing({ ringSize, nVal });
  if (owners.length !== ringSize) {
    throw invalid(`owners must name one node per vnode: ${ringSize} expected, got ${owners.length}`);
  }
  for (let v = 0; v < ringSize; v++) {
    const owner = owners[v];
    if (typeof owner !== 'string' || owner.length === 0) throw invalid(`vnode ${v} has no owner`);
  }

  const pvc = input.pvc ?? 1;
  if (!Number.isInteger(pvc) || pvc < 1 || pvc > nVal) {
    throw invalid(`pvc must be an integer in 1..nVal (${nVal}), got ${pvc}`, { pvc, nVal });
  }

  const selector = input.selector ?? 'all';
  if (selector !== 'all' && selector !== 'allup') throw invalid(`selector must be 'all' or 'allup', got '${String(selector)}'`);

  const offsets = offsetCount(ringSize, nVal);
  let offset: number;
  if (input.offset === undefined) {
    const r = (input.random ?? Math.random)();
    if (!(r >= 0 && r < 1)) throw new TypeError(`random() must return a number in [0, 1), got ${r}`);
    offset = Math.floor(r * offsets);
  } else {
    offset = input.offset;
    if (!Number.isInteger(offset) || offset < 0 || offset >= offsets) {
      throw invalid(`offset must be an integer in 0..${offsets - 1} (ringSize·nVal − 1), got ${offset}`, { offset });
    }
  }

  const unavailable = new Uint8Array(ringSize);
  const nodes = input.unavailable?.nodes ?? [];
  for (const node of nodes) {
    let owns = false;
    for (let v = 0; v < ringSize; v++) {
      if (owners[v] === node) {
        unavailable[v] = 1;
        owns = true;
      }
    }
    // A name that owns nothing is almost always a typo; planning as if it were down would hide it.
    if (!owns) throw invalid(`unavailable node '${node}' owns no vnode of this ring`, { node });
  }
  for (const v of input.unavailable?.vnodes ?? []) {
    if (!Number.isInteger(v) || v < 0 || v >= ringSize) {
      throw invalid(`unavailable vnode must be an integer in 0..${ringSize - 1}, got ${v}`, { vnode: v });
    }
    unavailable[v] = 1;
  }

  return { ringSize, nVal, owners, offset, pvc, selector, unavailable, wantedCount: sampleCount(input, ringSize) };
}

function sampleCount(input: PlanInput, ringSize: number): number {
  const sample = input.sample;
  if (sample === undefined) return ringSize;
  if ('fraction' in sample) {
    const f = sample.fraction;
    if (!(typeof f === 'number' && f > 0 && f <= 1)) throw invalid(`sample fraction must be in (0, 1], got ${f}`);
    // Round up: a sample covers at least the fraction asked for (and never nothing).
    // The epsilon keeps 0.25 · 64 = 16 from becoming 17 through float error.
    return Math.min(ringSize, Math.max(1, Math.ceil(f * ringSize - 1e-9)));
  }
  const c = sample.count;
  if (!Number.isInteger(c) || c < 1 || c > ringSize) throw invalid(`sample count must be an integer in 1..${ringSize}, got ${c}`);
  return c;
}

function invalid(message: string, details?: Record<string, unknown>): AaeError {
  return new AaeError('PLAN_INVALID', message, details === undefined ? {} : { details });
}
