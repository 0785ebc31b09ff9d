import { AaeError } from '../errors.js';
import { normalisePlanInput, type NormalPlanInput } from './options.js';
import { decodeOffset, preferredReplica, sampleKeyspaces } from './tiling.js';
import type { CoveragePlan, PlanInput, VnodeCoverage } from './types.js';

/**
 * Coverage plans: which vnodes to ask so that a fold sees every keyspace (or a sample of them)
 * exactly `pvc` times, from primaries only.
 *
 * The ring has ringSize keyspaces; keyspace k lives on vnodes k … k+nVal−1, so a vnode holds nVal
 * keyspaces and about ⌈ringSize/nVal⌉ vnodes cover the ring (342 of 1024 at nVal 3). A vnode that
 * must answer for fewer keyspaces than it holds is given a filter, so no key is counted twice.
 *
 * The planner follows riak_core's current planner (riak_core_coverage_plan, 2021): every keyspace
 * starts with `pvc` wants; vnodes are visited in a fixed order — the ring rotated by the offset,
 * then split into nVal classes by position (every nVal'th vnode first, then the next class, …) —
 * and each available vnode takes every keyspace it holds that is still wanted. It stops when no
 * wants are left or no vnodes are. Only primaries serve coverage: an unavailable vnode is skipped,
 * never replaced by a fallback.
 *
 * One pass is added in front of that greedy walk. Each wanted keyspace is first offered to its
 * *preferred* replicas (`tiling.ts`): for answer a (0 … pvc−1) the replica that the tiling gives
 * under shift + a. This is what makes offsets 0 … nVal−1 ask different replicas for every
 * keyspace even on rings that nVal does not divide, where riak_core's rotation alone cannot, and
 * it makes pvc > 1 answers come from distinct replicas by construction. The greedy walk then
 * picks up only what the preferred pass could not place, because a preferred vnode was
 * unavailable. When everything is up the walk finds nothing to do.
 *
 * Laws (property-tested in test/plan):
 * - a keyspace is answered at most pvc times, by pvc distinct vnodes, never twice by one vnode;
 * - a wanted keyspace is missing exactly when fewer than pvc of its primaries are available (the
 *   walk visits every available vnode, so it cannot miss a keyspace that could be covered);
 * - a vnode has a filter exactly when it answers for fewer than nVal keyspaces;
 * - the same input (offset included) gives the same plan;
 * - with everything up and pvc 1, at most ⌈ringSize/nVal⌉ + 1 vnodes are asked (exactly
 *   ringSize/nVal when nVal divides the ring).
 *
 * `all` throws PLAN_INCOMPLETE (details.missing lists the keyspaces) when any wanted keyspace is
 * short of answers; `allup` returns the partial plan, with those keyspaces in `missing`. A partial
 * plan keeps the answers it could find for a short keyspace (some beats none for a deduplicating
 * fold), but such a keyspace is never in `covered`.
 */
export function plan(input: PlanInput): CoveragePlan {
  const req = normalisePlanInput(input);
  const result = planNormalised(req);
  if (!result.complete && req.selector === 'all') {
    const shown = result.missing.slice(0, 8).join(', ') + (result.missing.length > 8 ? ', …' : '');
    throw new AaeError(
      'PLAN_INCOMPLETE',
      `cannot cover ${result.missing.length} of ${req.wantedCount} keyspaces` +
        (req.pvc > 1 ? ` ${req.pvc} times` : '') +
        ` from available primaries (keyspaces ${shown}); selector 'allup' gives a partial plan`,
      {
        details: {
          missing: result.missing,
          pvc: req.pvc,
          offset: req.offset,
          unavailableVnodes: indicesOf(req.unavailable),
        },
      },
    );
  }
  return result;
}

function planNormalised(req: NormalPlanInput): CoveragePlan {
  const { ringSize, nVal, owners, offset, pvc, unavailable, wantedCount } = req;
  const { rotation, shift } = decodeOffset(offset, nVal);
  const wanted = sampleKeyspaces(wantedCount, rotation, ringSize, nVal);

  // wants[k]: answers keyspace k still needs. answers[v]: bit j set when vnode v answers for its
  // replica-j keyspace (v − j). nVal ≤ 5, so a byte holds every bit.
  const wants = new Int8Array(ringSize);
  const answers = new Uint8Array(ringSize);
  for (const k of wanted) wants[k] = pvc;
  let remaining = wanted.length * pvc;

  // The preferred pass.
  for (let a = 0; a < pvc; a++) {
    const s = (shift + a) % nVal;
    for (const k of wanted) {
      const j = preferredReplica(k, rotation, s, ringSize, nVal);
      const v = (k + j) % ringSize;
      if (unavailable[v] === 1) continue;
      answers[v]! |= 1 << j;
      wants[k]!--;
      remaining--;
    }
  }

  // The greedy walk, for what unavailable preferred vnodes left behind. Start where the tiling's
  // first preferred vnode is, then take the classes in turn.
  const start = (rotation + nVal - 1 + shift) % ringSize;
  for (let cls = 0; cls < nVal && remaining > 0; cls++) {
    for (let p = cls; p < ringSize && remaining > 0; p += nVal) {
      const v = (start + p) % ringSize;
      if (unavailable[v] === 1) continue;
      for (let j = 0; j < nVal; j++) {
        const k = (v - j + ringSize) % ringSize;
        if (wants[k]! > 0 && (answers[v]! & (1 << j)) === 0) {
          answers[v]! |= 1 << j;
          wants[k]!--;
          remaining--;
        }
      }
    }
  }

  const vnodes: VnodeCoverage[] = [];
  for (let v = 0; v < ringSize; v++) {
    const bits = answers[v]!;
    if (bits === 0) continue;
    const keyspaces: number[] = [];
    for (let j = 0; j < nVal; j++) if ((bits & (1 << j)) !== 0) keyspaces.push((v - j + ringSize) % ringSize);
    keyspaces.sort((x, y) => x - y);
    vnodes.push({ vnode: v, node: owners[v]!, keyspaces, filter: keyspaces.length < nVal ? keyspaces.slice() : null });
  }

  const covered: number[] = [];
  const missing: number[] = [];
  for (const k of wanted) (wants[k] === 0 ? covered : missing).push(k);
  return {
    vnodes,
    covered,
    missing,
    fraction: covered.length / ringSize,
    offset,
    pvc,
    complete: missing.length === 0,
  };
}

function indicesOf(flags: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < flags.length; i++) if (flags[i] === 1) out.push(i);
  return out;
}
