/**
 * Comparing: two clusters against each other (full-sync), or the replicas inside one cluster.
 *
 * Between clusters, each side is one ClusterSource, so the clusters may differ in ring size, nVal
 * and node count: trees are keyed by segment, not partition. Inside a cluster, every replica pair
 * (replica-pairs.ts) is exchanged over the keyspaces it shares; those exchanges are independent and
 * run concurrently (their time is mostly the confirmation pause), a bounded number at once.
 *
 * The two sides are the `source` (the first cluster given, or a replica pair's first vnode) and
 * the `sink`, as in the CLI's JSON and tables. The exchange engine below names them blue and pink;
 * that stays inside this layer.
 */
import { keyIdentity, type Clock } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { runExchange, type ExchangeOptions, type ExchangeResult, type ExchangeScope, type KeyDelta } from '../exchange/index.js';
import type { ClusterNodes } from '../node/index.js';
import { aheadOf, type Ahead, type Version } from '../repair/index.js';
import { ClusterSource } from './cluster-source.js';
import { replicaPairs } from './replica-pairs.js';
import { VnodeSource } from './vnode-source.js';

/** A cluster as compare and inspect see it: its nodes, through the node contract. */
export type ClusterHandle = ClusterNodes;

export type ExchangeTuning = Pick<
  ExchangeOptions,
  'maxResults' | 'pauseMs' | 'jitter' | 'sleep' | 'signal' | 'timeoutMs' | 'random' | 'logger' | 'walk' | 'largeDelta' | 'onProgress'
>;

export interface CompareOptions extends ExchangeTuning {
  scope?: ExchangeScope;
  /** Coverage offsets of the two sides (random when absent). */
  sourceOffset?: number;
  sinkOffset?: number;
}

/**
 * A complete compare: every difference is handed to `onDifferences` as the exchange finds them
 * (window by window, awaited) and none is kept in the result; the exchange walks every dirty
 * segment (ExchangeOptions.onDeltas). Replica comparisons hand over ReplicaDifferences.
 */
export interface StreamOptions<D> {
  onDifferences?: (differences: D[]) => void | Promise<void>;
}

/** A key whose versions differ between the two sides. */
export interface Difference {
  readonly bucket: string;
  readonly key: Uint8Array;
  /** The source's version (a tombstone is one: `deleted`); null when the source does not hold the key. */
  readonly source: Version | null;
  readonly sink: Version | null;
  /** Which side holds the version that dominates (or neither: concurrent). */
  readonly ahead: Ahead;
}

export interface ClusterComparison {
  kind: 'clusters';
  /** The clusters' names. */
  source: string;
  sink: string;
  inSync: boolean;
  differences: Difference[];
  exchange: ExchangeResult;
}

/** The engine's delta (blue = source, pink = sink) as a Difference. */
export function toDifference(d: KeyDelta): Difference {
  const version = (clock: Clock | null, deleted: boolean | undefined, hash: number | undefined): Version | null => (clock === null ? null : { clock, deleted: deleted ?? false, hash: hash ?? 0 });
  const source = version(d.blue, d.blueDeleted, d.blueHash);
  const sink = version(d.pink, d.pinkDeleted, d.pinkHash);
  return { bucket: d.bucket, key: d.key, source, sink, ahead: aheadOf(source, sink) };
}

function exchangeOptions(options: CompareOptions & StreamOptions<never>): ExchangeOptions {
  const { sourceOffset: _b, sinkOffset: _p, onDifferences: _d, ...rest } = options;
  return rest;
}

export async function compareClusters(
  source: ClusterHandle,
  sink: ClusterHandle,
  options: CompareOptions & StreamOptions<Difference> = {},
): Promise<ClusterComparison> {
  const stream = options.onDifferences;
  const sourceSide = new ClusterSource(source, { label: source.name, ...(options.sourceOffset === undefined ? {} : { offset: options.sourceOffset }) });
  const sinkSide = new ClusterSource(sink, { label: sink.name, ...(options.sinkOffset === undefined ? {} : { offset: options.sinkOffset }) });
  const exchange = await runExchange([sourceSide], [sinkSide], {
    ...exchangeOptions(options as CompareOptions),
    ...(stream === undefined ? {} : { onDeltas: (ds: KeyDelta[]) => stream(ds.map(toDifference)) }),
  });
  if (exchange.state === 'error') throw exchange.error ?? new AaeError('EXCHANGE_FAILED', 'the exchange failed');
  return {
    kind: 'clusters',
    source: source.name,
    sink: sink.name,
    inSync: exchange.inSync,
    differences: exchange.deltas.map(toDifference),
    exchange,
  };
}

export interface ReplicaDifference extends Difference {
  /** The vnodes compared: the pair's first vnode is the source (replica `a` in the CLI), its partner the sink (`b`). */
  readonly sourceVnode: number;
  readonly sinkVnode: number;
}

export interface ReplicaComparison {
  kind: 'replicas';
  cluster: string;
  inSync: boolean;
  pairs: number;
  pairsInSync: number;
  /** One entry per (key, vnode pair) that differs: a key missing on one replica shows in each pair with it. */
  differences: ReplicaDifference[];
  /** Distinct keys that differ somewhere. */
  keys: number;
  truncated: boolean;
  bytes: number;
  roundTrips: number;
}

/**
 * Exchanges at once inside one cluster: each mostly waits out its confirmation pause, so many can
 * overlap; 32 keeps the open LevelDB reads and the memory of 2×32 roots (16 KiB each) small.
 */
const REPLICA_EXCHANGES_AT_ONCE = 32;

export async function compareReplicas(cluster: ClusterHandle, options: CompareOptions & StreamOptions<ReplicaDifference> = {}): Promise<ReplicaComparison> {
  const spec = cluster.params;
  const stream = options.onDifferences;
  // Streamed, the distinct keys are counted here (one identity a differing key); kept, below.
  const streamedKeys = new Set<string>();
  const pairs = replicaPairs(spec);
  const results: Array<{ a: number; b: number; r: ExchangeResult }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pairs.length) {
      const p = pairs[next++]!;
      const r = await runExchange(
        [new VnodeSource(cluster, p.a, p.keyspaces)],
        [new VnodeSource(cluster, p.b, p.keyspaces)],
        {
          ...exchangeOptions(options as CompareOptions),
          id: `${cluster.name}:${p.a}~${p.b}`,
          ...(stream === undefined
            ? {}
            : {
                onDeltas: (ds: KeyDelta[]) => {
                  for (const d of ds) streamedKeys.add(keyIdentity(d));
                  return stream(ds.map((d) => ({ ...toDifference(d), sourceVnode: p.a, sinkVnode: p.b })));
                },
              }),
        },
      );
      if (r.state === 'error') throw r.error ?? new AaeError('EXCHANGE_FAILED', `exchange of vnodes ${p.a} and ${p.b} failed`);
      results.push({ a: p.a, b: p.b, r });
    }
  };
  await Promise.all(Array.from({ length: Math.min(REPLICA_EXCHANGES_AT_ONCE, pairs.length) }, worker));
  results.sort((x, y) => x.a - y.a || x.b - y.b);
  const differences: ReplicaDifference[] = [];
  const keys = streamedKeys;
  for (const { a, b, r } of results) {
    for (const d of r.deltas) {
      differences.push({ ...toDifference(d), sourceVnode: a, sinkVnode: b });
      keys.add(keyIdentity(d));
    }
  }
  return {
    kind: 'replicas',
    cluster: cluster.name,
    inSync: results.every((x) => x.r.inSync),
    pairs: results.length,
    pairsInSync: results.filter((x) => x.r.inSync).length,
    differences,
    keys: keys.size,
    truncated: results.some((x) => x.r.truncated),
    bytes: results.reduce((n, x) => n + x.r.bytes.total, 0),
    roundTrips: results.reduce((n, x) => n + x.r.roundTrips, 0),
  };
}
