/**
 * Inspecting where two clusters (or one cluster's replicas) differ: one look at the trees, no
 * confirmation round (a snapshot — writes in flight may show; `compare` confirms). Roots, then the
 * dirty branches, then for each dirty segment how many keys each side holds in it; optionally the
 * keys and clocks of one chosen segment.
 */
import { canonicalKey, keyHash } from '../hash/index.js';
import { checkCompatible, type ExchangeScope, type ExchangeSource, type KeyClock } from '../exchange/index.js';
import { dirtyBranches, dirtySegments, segmentCountOf, branchCountOf, type TreeSize } from '../tictac/index.js';
import { ClusterSource } from './cluster-source.js';
import type { ClusterHandle } from './compare.js';
import { replicaPairs } from './replica-pairs.js';
import { VnodeSource } from './vnode-source.js';

/** Segments whose keys are counted; beyond it the report says it stopped (counting costs a seek each). */
export const MAX_SEGMENT_DETAIL = 1024;

export interface SegmentDetail {
  segment: number;
  blueKeys: number;
  pinkKeys: number;
}

export interface PairInspection {
  blue: string;
  pink: string;
  dirtyBranches: Array<{ branch: number; dirtySegments: number }>;
  segments: SegmentDetail[];
  segmentsTruncated: boolean;
  chosen?: { segment: number; blue: KeyClock[]; pink: KeyClock[] };
}

export interface InspectReport {
  kind: 'clusters' | 'replicas';
  treeSize: TreeSize;
  branchCount: number;
  pairs: PairInspection[];
}

export interface InspectOptions {
  scope?: ExchangeScope;
  segment?: number;
  blueOffset?: number;
  pinkOffset?: number;
  signal?: AbortSignal;
}

async function inspectPair(
  blue: ExchangeSource & { label: string },
  pink: ExchangeSource & { label: string },
  treeSize: TreeSize,
  seed: number,
  options: InspectOptions,
): Promise<PairInspection> {
  const scope = options.scope ?? { kind: 'full' };
  const fetch = options.signal === undefined ? {} : { signal: options.signal };
  checkCompatible([await blue.describe(), await pink.describe()], scope);
  const [rootB, rootP] = await Promise.all([blue.fetchRoot(scope, fetch), pink.fetchRoot(scope, fetch)]);
  const branches = dirtyBranches(rootB, rootP);
  const [mapB, mapP] = await Promise.all([blue.fetchBranches(scope, branches, fetch), pink.fetchBranches(scope, branches, fetch)]);
  const segs = dirtySegments(mapB, mapP, branches);
  const perBranch = new Map<number, number>();
  for (const s of segs) perBranch.set(s >> 8, (perBranch.get(s >> 8) ?? 0) + 1);
  const detail = segs.slice(0, MAX_SEGMENT_DETAIL);
  const mask = segmentCountOf(treeSize) - 1;
  const segmentOf = (k: KeyClock) => keyHash(canonicalKey(k.bucket, k.key), seed).segment32 & mask;
  const [keysB, keysP] = await Promise.all([blue.fetchClocks(scope, detail, fetch), pink.fetchClocks(scope, detail, fetch)]);
  const counts = new Map<number, SegmentDetail>(detail.map((s) => [s, { segment: s, blueKeys: 0, pinkKeys: 0 }]));
  for (const k of keysB) counts.get(segmentOf(k))!.blueKeys++;
  for (const k of keysP) counts.get(segmentOf(k))!.pinkKeys++;
  const report: PairInspection = {
    blue: blue.label,
    pink: pink.label,
    dirtyBranches: [...perBranch].map(([branch, dirty]) => ({ branch, dirtySegments: dirty })),
    segments: [...counts.values()],
    segmentsTruncated: segs.length > detail.length,
  };
  if (options.segment !== undefined) {
    const [b, p] = await Promise.all([blue.fetchClocks(scope, [options.segment], fetch), pink.fetchClocks(scope, [options.segment], fetch)]);
    report.chosen = { segment: options.segment, blue: b, pink: p };
  }
  return report;
}

function sizeOf(scope: ExchangeScope | undefined, clusterSize: TreeSize): TreeSize {
  return scope?.kind === 'range' ? scope.treeSize : clusterSize;
}

export async function inspectClusters(blue: ClusterHandle, pink: ClusterHandle, options: InspectOptions = {}): Promise<InspectReport> {
  const treeSize = sizeOf(options.scope, blue.params.treeSize);
  const b = new ClusterSource(blue, { label: blue.name, ...(options.blueOffset === undefined ? {} : { offset: options.blueOffset }) });
  const p = new ClusterSource(pink, { label: pink.name, ...(options.pinkOffset === undefined ? {} : { offset: options.pinkOffset }) });
  return { kind: 'clusters', treeSize, branchCount: branchCountOf(treeSize), pairs: [await inspectPair(b, p, treeSize, blue.params.seed, options)] };
}

export async function inspectReplicas(cluster: ClusterHandle, options: InspectOptions = {}): Promise<InspectReport> {
  const { params } = cluster;
  const treeSize = sizeOf(options.scope, params.treeSize);
  const pairs: PairInspection[] = [];
  for (const pair of replicaPairs(params)) {
    const r = await inspectPair(new VnodeSource(cluster, pair.a, pair.keyspaces), new VnodeSource(cluster, pair.b, pair.keyspaces), treeSize, params.seed, options);
    if (r.dirtyBranches.length > 0 || (r.chosen !== undefined && r.chosen.blue.length + r.chosen.pink.length > 0)) pairs.push(r);
  }
  return { kind: 'replicas', treeSize, branchCount: branchCountOf(treeSize), pairs };
}
