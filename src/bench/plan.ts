import { claim, keyspacesOfVnode, nodeNames } from '../cluster/index.js';
import { offsetCount, plan, type CoveragePlan, type PlanInput } from '../plan/index.js';
import { bestOf, machineInfo, round, type BenchFigure, type BenchReport } from './report.js';
import type { BenchOptions, BenchSuite } from './suite.js';

/**
 * `aae bench plan`: how long one coverage plan takes on the largest ring (1024 partitions,
 * nVal 3, 8 nodes of which 2 are down), against two baselines measured in the same run:
 * - listing every vnode with its owner and keyspaces (the floor under any planner that looks at
 *   each vnode once), and
 * - an exhaustive planner that plans at every offset (ringSize·nVal of them) and keeps the plan
 *   with the fewest vnodes — what "just search for the best plan" would cost.
 * Target (from the issue): ≤ 1 ms per plan.
 */

const RING_SIZE = 1024;
const N_VAL = 3;
/** 8 nodes hold a safe claim of 1024 at nVal 3, so 2 down never take all three replicas of a keyspace. */
const NODES = 8;
const DOWN = ['n2', 'n5'];
/** Plans per timed run at scale 1: enough that a run lasts several ms and timer noise fades. */
const PLANS_PER_RUN = 500;
/** Timed runs; the best is kept (the least disturbed on a shared machine). */
const RUNS = 7;
/** Exhaustive plans per timed run at scale 1: each one is ringSize·nVal ordinary plans. */
const EXHAUSTIVE_PER_RUN = 2;
/** Odd stride through the offsets, so successive timed plans use scattered offsets, as random ones would. */
const OFFSET_STRIDE = 7919;

export const planBench: BenchSuite = {
  name: 'plan',
  description: 'coverage plans on a ring of 1024 (nVal 3, 2 of 8 nodes down) against a vnode listing and an exhaustive planner',
  async run(options: BenchOptions): Promise<BenchReport> {
    const plans = Math.max(1, Math.round(PLANS_PER_RUN * options.scale));
    const exhaustive = Math.max(1, Math.round(EXHAUSTIVE_PER_RUN * options.scale));
    const runs = options.scale < 0.1 ? 1 : RUNS; // tiny scales are shape checks, not measurements
    const nodes = nodeNames(NODES);
    const { owners } = claim(RING_SIZE, nodes, N_VAL);
    const base: PlanInput = { ringSize: RING_SIZE, nVal: N_VAL, owners, selector: 'all' };
    const down: PlanInput = { ...base, unavailable: { nodes: DOWN } };
    const offsets = offsetCount(RING_SIZE, N_VAL);

    let sink = 0; // results feed this so the work cannot be optimised away
    const perPlan = async (input: PlanInput): Promise<number> => {
      const ms = await bestOf(runs, () => {
        for (let i = 0; i < plans; i++) sink += plan({ ...input, offset: (i * OFFSET_STRIDE) % offsets }).vnodes.length;
      });
      return ms / plans;
    };

    options.log(`plan: ${plans} plans per run, ${runs} runs`);
    const listMs =
      (await bestOf(runs, () => {
        for (let i = 0; i < plans; i++) {
          const list: Array<{ vnode: number; node: string; keyspaces: number[] }> = [];
          for (let v = 0; v < RING_SIZE; v++) {
            list.push({ vnode: v, node: owners[v]!, keyspaces: keyspacesOfVnode(v, { ringSize: RING_SIZE, nVal: N_VAL }) });
          }
          sink += list.length;
        }
      })) / plans;
    const downMs = await perPlan(down);
    const upMs = await perPlan(base);

    options.log(`plan: ${exhaustive} exhaustive plans per run`);
    let bestExhaustive: CoveragePlan | undefined;
    const exhaustiveMs =
      (await bestOf(runs, () => {
        for (let i = 0; i < exhaustive; i++) {
          bestExhaustive = undefined;
          for (let offset = 0; offset < offsets; offset++) {
            const p = plan({ ...down, offset });
            if (bestExhaustive === undefined || p.vnodes.length < bestExhaustive.vnodes.length) bestExhaustive = p;
          }
        }
      })) / exhaustive;
    const sample = plan({ ...down, offset: 0 });
    if (sink < 0) throw new Error('unreachable');

    const listing = { name: 'vnode listing (every vnode, owner, keyspaces)', value: round(listMs, 4), unit: 'ms' };
    const figures: BenchFigure[] = [
      {
        name: `plan, ${DOWN.length} of ${NODES} nodes down`,
        value: round(downMs, 4),
        unit: 'ms/plan',
        baseline: listing,
        ratio: round(downMs / listMs, 2),
        ratioMeaning: 'plan time / vnode listing time',
        target: '≤ 1 ms per plan',
        met: downMs <= 1,
      },
      {
        name: 'plan, all up',
        value: round(upMs, 4),
        unit: 'ms/plan',
        baseline: listing,
        ratio: round(upMs / listMs, 2),
        ratioMeaning: 'plan time / vnode listing time',
      },
      {
        name: `exhaustive planner (all ${offsets} offsets, fewest vnodes)`,
        value: round(exhaustiveMs, 3),
        unit: 'ms/plan',
        baseline: { name: `plan, ${DOWN.length} of ${NODES} nodes down`, value: round(downMs, 4), unit: 'ms/plan' },
        ratio: round(exhaustiveMs / downMs, 1),
        ratioMeaning: 'exhaustive time / greedy plan time',
      },
      {
        name: 'vnodes asked, 2 nodes down (offset 0 / best of all offsets)',
        value: sample.vnodes.length,
        unit: 'vnodes',
        baseline: { name: 'best of all offsets', value: bestExhaustive?.vnodes.length ?? 0, unit: 'vnodes' },
        ratio: round(sample.vnodes.length / (bestExhaustive?.vnodes.length ?? 1), 3),
        ratioMeaning: 'vnodes at offset 0 / fewest vnodes at any offset',
      },
    ];
    return {
      suite: 'plan',
      machine: machineInfo(),
      params: { ringSize: RING_SIZE, nVal: N_VAL, nodes: NODES, down: DOWN.join(','), plansPerRun: plans, runs, scale: options.scale },
      figures,
    };
  },
};
