export { plan } from './planner.js';
export { decodeOffset, encodeOffset, offsetCount, preferredReplica, sampleKeyspaces, type DecodedOffset } from './tiling.js';
export type {
  CoveragePlan,
  PlanInput,
  PlanSample,
  PlanSelector,
  PlanUnavailable,
  VnodeCoverage,
} from './types.js';
