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
import { setMaxListeners } from 'node:events';
import { keyIdentity, preflist, type Clock } from '../cluster/index.js';
import { AaeError, isAaeError } from '../errors.js';
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

/**
 * What a replica compare does with a keyspace that has a replica on a node known to be down (the
 * cluster's `unavailable`): `fail` (the default) lets the exchanges that need it fail with
 * NODE_UNAVAILABLE; `skip` leaves such keyspaces out and says so (`unreached`). Replicas are
 * compared against each other, so there is no other replica to route to: a keyspace with one
 * replica down cannot be compared, and a repair cannot write it (writes need every replica).
 */
export interface ReplicaCompareOptions extends CompareOptions {
  unreachable?: 'fail' | 'skip';
}

/** Keyspaces a replica compare left out (`unreachable: 'skip'`): each has a replica on one of `nodes`. */
export interface Unreached {
  /** The nodes known to be down that hold a replica of them, in ring order. */
  nodes: string[];
  /** How many keyspaces have a replica on one of them (of the ring's ringSize). */
  keyspaces: number;
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
  /** With `unreachable: 'skip'`: the keyspaces left out, when any were (inSync is then false). */
  unreached?: Unreached;
}

/**
 * Exchanges at once inside one cluster: each mostly waits out its confirmation pause, so many can
 * overlap; 32 keeps the open LevelDB reads and the memory of 2×32 roots (16 KiB each) small.
 */
const REPLICA_EXCHANGES_AT_ONCE = 32;

export async function compareReplicas(cluster: ClusterHandle, options: ReplicaCompareOptions & StreamOptions<ReplicaDifference> = {}): Promise<ReplicaComparison> {
  const stream = options.onDifferences;
  // Streamed, the distinct keys are counted here (one identity a differing key); kept, below.
  const streamedKeys = new Set<string>();
  const { pairs, unreached } = reachablePairs(cluster, options.unreachable ?? 'fail');
  const results: Array<{ a: number; b: number; r: ExchangeResult }> = [];
  const { unreachable: _u, ...compareOptions } = options;
  // The first exchange that fails stops the others: one failure is the answer. A node down fails
  // every pair on it, and each failing exchange would log its own EX008 line; so the others are
  // stopped as that line is logged (before the failed exchange has even returned), and one that
  // was stopped says ABORTED, which is not the answer unless the caller aborted.
  const stop = new AbortController();
  // Every exchange at once listens on it (and each of its folds), by design.
  setMaxListeners(0, stop.signal);
  const onAbort = (): void => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted === true) onAbort();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    if (isAaeError(error, 'ABORTED') && stop.signal.aborted && options.signal?.aborted !== true) return;
    failure ??= { error };
    stop.abort(error);
  };
  const logger = options.logger;
  const tuning: ExchangeOptions = {
    ...exchangeOptions(compareOptions as CompareOptions),
    signal: stop.signal,
    logger: (line) => {
      if (line.code === 'EX008') stop.abort(new AaeError('ABORTED', 'another replica exchange failed'));
      logger?.(line);
    },
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stop.signal.aborted && next < pairs.length) {
      const p = pairs[next++]!;
      let r: ExchangeResult;
      try {
        r = await runExchange(
          [new VnodeSource(cluster, p.a, p.keyspaces)],
          [new VnodeSource(cluster, p.b, p.keyspaces)],
          {
            ...tuning,
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
      } catch (e) {
        fail(e);
        return;
      }
      if (r.state === 'error') {
        fail(r.error ?? new AaeError('EXCHANGE_FAILED', `exchange of vnodes ${p.a} and ${p.b} failed`));
        return;
      }
      results.push({ a: p.a, b: p.b, r });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(REPLICA_EXCHANGES_AT_ONCE, pairs.length) }, worker));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) throw failure.error;
  if (stop.signal.aborted) throw new AaeError('ABORTED', 'replica exchanges stopped', { cause: stop.signal.reason });
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
    // Keyspaces left out are not known to agree.
    inSync: unreached === undefined && results.every((x) => x.r.inSync),
    pairs: results.length,
    pairsInSync: results.filter((x) => x.r.inSync).length,
    differences,
    keys: keys.size,
    truncated: results.some((x) => x.r.truncated),
    bytes: results.reduce((n, x) => n + x.r.bytes.total, 0),
    roundTrips: results.reduce((n, x) => n + x.r.roundTrips, 0),
    ...(unreached === undefined ? {} : { unreached }),
  };
}

/**
 * The replica pairs to exchange: all of them, or (`skip`) each over only the keyspaces whose every
 * replica is on a node not known to be down, with what was left out.
 */
function reachablePairs(cluster: ClusterHandle, unreachable: 'fail' | 'skip'): { pairs: ReturnType<typeof replicaPairs>; unreached?: Unreached } {
  const all = replicaPairs(cluster.params);
  const down = cluster.unavailable ?? new Set<string>();
  if (unreachable === 'fail' || down.size === 0) return { pairs: all };
  const cut = new Set<number>();
  for (let k = 0; k < cluster.params.ringSize; k++) {
    if (preflist(k, cluster.params).some((v) => down.has(cluster.owners[v]!))) cut.add(k);
  }
  if (cut.size === 0) return { pairs: all };
  const pairs = all.map((p) => ({ ...p, keyspaces: p.keyspaces.filter((k) => !cut.has(k)) })).filter((p) => p.keyspaces.length > 0);
  const nodes = [...new Set(cluster.owners)].filter((n) => down.has(n));
  return { pairs, unreached: { nodes, keyspaces: cut.size } };
}
