/**
 * Inspecting where two clusters (or one cluster's replicas) differ: one look at the trees, no
 * confirmation round (a snapshot — writes in flight may show; `compare` confirms). Roots, then the
 * dirty branches, then the keys of the dirty segments, window by window: for each segment how many
 * keys each side holds and how many of them differ, and for the differing keys a summary (bucket ×
 * kind × side) and a drift profile (when, which partitions and nodes, which keys: drift-profile.ts).
 * Optionally the keys and clocks of one chosen segment.
 *
 * Counting costs a seek per segment and keyspace, so it stops after `maxSegments` dirty segments
 * (default MAX_SEGMENT_DETAIL; 0 counts them all) and says so: `segmentsTruncated`, and the
 * counts cover the segments counted. Memory stays bounded: the key clocks of one window at a time.
 */
import type { ObjectKey } from '../cluster/index.js';
import { canonicalKey, keyHash } from '../hash/index.js';
import { CLOCK_WINDOW_SEGMENTS, checkCompatible, compareClocks, type ExchangeScope, type ExchangeSource, type KeyClock } from '../exchange/index.js';
import { dirtyBranches, dirtySegments, segmentCountOf, branchCountOf, type TreeSize } from '../tictac/index.js';
import { ClusterSource } from './cluster-source.js';
import { toDifference, type ClusterHandle } from './compare.js';
import { DifferenceSummary, type SummaryJson } from './difference-summary.js';
import { DriftProfile, type DriftProfileJson, type RingLayout } from './drift-profile.js';
import { replicaPairs } from './replica-pairs.js';
import { VnodeSource } from './vnode-source.js';

/**
 * Dirty segments whose keys are counted by default: 65,536 covers damage of ~50,000 scattered
 * keys in a large tree, at about the cost of a compare of it (a clock fetch per 1,024 segments).
 */
export const MAX_SEGMENT_DETAIL = 65_536;

export interface SegmentDetail {
  segment: number;
  /** Keys each side holds in the segment. */
  sourceKeys: number;
  sinkKeys: number;
  /** Of those, keys whose versions differ (or that one side lacks). */
  differing: number;
}

export interface PairInspection {
  /** The sides' names: the clusters, or for a replica pair the vnodes' labels. */
  source: string;
  sink: string;
  /** For a replica pair: the two vnodes (source first). */
  vnodes?: readonly [number, number];
  dirtyBranches: Array<{ branch: number; dirtySegments: number }>;
  /** Every dirty segment found, counted or not. */
  dirtySegments: number;
  /** The segments counted (at most maxSegments over all pairs), ascending. */
  segments: SegmentDetail[];
  /** More segments were dirty than were counted. */
  segmentsTruncated: boolean;
  /** Differing keys in the counted segments. */
  differing: number;
  chosen?: { segment: number; source: KeyClock[]; sink: KeyClock[] };
}

export interface InspectReport {
  kind: 'clusters' | 'replicas';
  treeSize: TreeSize;
  branchCount: number;
  pairs: PairInspection[];
  /** The cap on segments counted (0: none). */
  maxSegments: number;
  /** Differing keys in the counted segments by bucket, kind and side. */
  summary: SummaryJson;
  profile: DriftProfileJson;
}

export interface InspectOptions {
  scope?: ExchangeScope;
  segment?: number;
  sourceOffset?: number;
  sinkOffset?: number;
  signal?: AbortSignal;
  /** Dirty segments whose keys are counted, over all pairs (default MAX_SEGMENT_DETAIL; 0: all). */
  maxSegments?: number;
  /** Segments counted so far, of those that will be. */
  onProgress?: (p: { segments: number; total: number }) => void;
}

interface Tally {
  budget: number;
  summary: DifferenceSummary;
  profile: DriftProfile;
}

async function inspectPair(
  source: ExchangeSource & { label: string },
  sink: ExchangeSource & { label: string },
  treeSize: TreeSize,
  seed: number,
  options: InspectOptions,
  tally: Tally,
  vnodes?: readonly [number, number],
): Promise<PairInspection> {
  const scope = options.scope ?? { kind: 'full' };
  const fetch = options.signal === undefined ? {} : { signal: options.signal };
  checkCompatible([await source.describe(), await sink.describe()], scope);
  const [rootB, rootP] = await Promise.all([source.fetchRoot(scope, fetch), sink.fetchRoot(scope, fetch)]);
  const branches = dirtyBranches(rootB, rootP);
  const [mapB, mapP] = await Promise.all([source.fetchBranches(scope, branches, fetch), sink.fetchBranches(scope, branches, fetch)]);
  const segs = dirtySegments(mapB, mapP, branches);
  const perBranch = new Map<number, number>();
  for (const s of segs) perBranch.set(s >> 8, (perBranch.get(s >> 8) ?? 0) + 1);
  const counted = segs.slice(0, Math.max(0, tally.budget));
  tally.budget -= counted.length;
  const mask = segmentCountOf(treeSize) - 1;
  const segmentOf = (k: ObjectKey) => keyHash(canonicalKey(k.bucket, k.key), seed).segment32 & mask;
  const details = new Map<number, SegmentDetail>(counted.map((s) => [s, { segment: s, sourceKeys: 0, sinkKeys: 0, differing: 0 }]));
  let differing = 0;
  for (let at = 0; at < counted.length; at += CLOCK_WINDOW_SEGMENTS) {
    const window = counted.slice(at, at + CLOCK_WINDOW_SEGMENTS);
    const [keysB, keysP] = await Promise.all([source.fetchClocks(scope, window, fetch), sink.fetchClocks(scope, window, fetch)]);
    for (const k of keysB) details.get(segmentOf(k))!.sourceKeys++;
    for (const k of keysP) details.get(segmentOf(k))!.sinkKeys++;
    for (const delta of compareClocks(keysB, keysP)) {
      details.get(segmentOf(delta))!.differing++;
      differing++;
      const d = toDifference(delta);
      tally.summary.add(d);
      tally.profile.add(d, vnodes);
    }
    options.onProgress?.({ segments: at + window.length, total: counted.length });
  }
  const report: PairInspection = {
    source: source.label,
    sink: sink.label,
    ...(vnodes === undefined ? {} : { vnodes }),
    dirtyBranches: [...perBranch].map(([branch, dirty]) => ({ branch, dirtySegments: dirty })),
    dirtySegments: segs.length,
    segments: [...details.values()],
    segmentsTruncated: segs.length > counted.length,
    differing,
  };
  if (options.segment !== undefined) {
    const [b, p] = await Promise.all([source.fetchClocks(scope, [options.segment], fetch), sink.fetchClocks(scope, [options.segment], fetch)]);
    report.chosen = { segment: options.segment, source: b, sink: p };
  }
  return report;
}

function sizeOf(scope: ExchangeScope | undefined, clusterSize: TreeSize): TreeSize {
  return scope?.kind === 'range' ? scope.treeSize : clusterSize;
}

function layoutOf(c: ClusterHandle): RingLayout {
  return { name: c.name, ringSize: c.params.ringSize, nVal: c.params.nVal, owners: c.owners };
}

function tallyFor(options: InspectOptions, layouts: RingLayout[]): Tally {
  const max = options.maxSegments ?? MAX_SEGMENT_DETAIL;
  return { budget: max === 0 ? Infinity : max, summary: new DifferenceSummary(), profile: new DriftProfile(layouts) };
}

export async function inspectClusters(source: ClusterHandle, sink: ClusterHandle, options: InspectOptions = {}): Promise<InspectReport> {
  const treeSize = sizeOf(options.scope, source.params.treeSize);
  const b = new ClusterSource(source, { label: source.name, ...(options.sourceOffset === undefined ? {} : { offset: options.sourceOffset }) });
  const p = new ClusterSource(sink, { label: sink.name, ...(options.sinkOffset === undefined ? {} : { offset: options.sinkOffset }) });
  const tally = tallyFor(options, [layoutOf(source), layoutOf(sink)]);
  const pair = await inspectPair(b, p, treeSize, source.params.seed, options, tally);
  return report('clusters', treeSize, [pair], options, tally);
}

export async function inspectReplicas(cluster: ClusterHandle, options: InspectOptions = {}): Promise<InspectReport> {
  const { params } = cluster;
  const treeSize = sizeOf(options.scope, params.treeSize);
  const tally = tallyFor(options, [layoutOf(cluster)]);
  const pairs: PairInspection[] = [];
  for (const pair of replicaPairs(params)) {
    const r = await inspectPair(
      new VnodeSource(cluster, pair.a, pair.keyspaces),
      new VnodeSource(cluster, pair.b, pair.keyspaces),
      treeSize,
      params.seed,
      options,
      tally,
      [pair.a, pair.b],
    );
    if (r.dirtyBranches.length > 0 || (r.chosen !== undefined && r.chosen.source.length + r.chosen.sink.length > 0)) pairs.push(r);
  }
  return report('replicas', treeSize, pairs, options, tally);
}

function report(kind: InspectReport['kind'], treeSize: TreeSize, pairs: PairInspection[], options: InspectOptions, tally: Tally): InspectReport {
  return {
    kind,
    treeSize,
    branchCount: branchCountOf(treeSize),
    pairs,
    maxSegments: options.maxSegments ?? MAX_SEGMENT_DETAIL,
    summary: tally.summary.toJSON(),
    profile: tally.profile.toJSON(),
  };
}
