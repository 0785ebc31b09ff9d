/**
 * Repairing: exchange → repair, looped until the two sides agree or the loop limit is reached.
 *
 * One exchange forwards at most maxResults segments (128), so a loop repairs those keys and asks
 * again. When the damage is large (most branches dirty: an empty sink, a whole bucket missing),
 * thousands of such rounds would be slow; the exchange reports a large delta instead and the
 * repair switches to range replication: repl_keys_range folds each side's keys (over the scope)
 * and hands them, in batches, to the same repair of keys — a pass over the data, not a walk of
 * the tree. The loop then exchanges again to confirm.
 *
 * Scattered damage between those extremes (a few thousand keys in as many segments) would still
 * take one exchange per maxResults segments, each paying its confirmation pauses (three of 500 ms
 * by default). So, as Riak's full-sync manager boosts max_results eightfold for its range checks,
 * once an exchange was truncated and its repair wrote something, the loop's later exchanges
 * forward up to eight times the caller's maxResults: 2,000 scattered keys take 3 loops instead of
 * 16. (Doubling step by step was measured slower: a loop's fixed cost, its top round and pauses,
 * is paid more often.) A loop that never meets more than maxResults dirty segments stays at
 * maxResults; `compare` never widens (one exchange, as asked).
 *
 * A dry run is the real run without the writes: the same exchanges, the same range pass, the same
 * repair of keys, so it decides exactly what the real run would write and lists it (`onAction`
 * sees every decision, uncapped). It stops after one round, since it changes nothing; when that
 * round's exchange could not see every difference (truncated), it takes the range pass, whose
 * listing is complete.
 *
 * Every write is conditional (cluster-backend.ts), so a repair racing live writes never replaces a
 * newer version; it is idempotent: a second run finds nothing to do.
 */
import { keyIdentity, type ObjectKey } from '../cluster/index.js';
import type { Cluster } from '../coordinator/index.js';
import { AaeError, throwIfAborted } from '../errors.js';
import type { ExchangeScope } from '../exchange/index.js';
import { replKeysRange, runFold } from '../fold/index.js';
import { emptyStats, repairKeys, type ConflictPolicy, type ConflictSink, type RepairAction, type RepairBackend, type RepairDirection, type RepairStats } from '../repair/index.js';
import { replicaBackend, twoClusterBackend } from './cluster-backend.js';
import { rangeQuery } from './cluster-source.js';
import { compareClusters, compareReplicas, type Difference, type ReplicaCompareOptions, type Unreached } from './compare.js';

export interface RepairRunOptions extends ReplicaCompareOptions {
  policy?: ConflictPolicy;
  dryRun?: boolean;
  /** Which side may be written (default both): `to-sink` never writes the source, `to-source` never the sink. */
  direction?: RepairDirection;
  /** Exchange → repair rounds at most (default 20). */
  maxLoops?: number;
  conflictLog?: ConflictSink;
  maxKeysPerSecond?: number;
  /** Switch to range replication on a large delta (default true). */
  rangeReplication?: boolean;
  onLoop?: (p: LoopReport) => void;
  /** Every action decided (dry run) or done, uncapped: a complete listing for `--output`. */
  onAction?: (action: RepairAction) => void;
  /**
   * Between two clusters over the full scope: first repair each written cluster's own replicas
   * (as `repairReplicas`), so that the exchange between them reads complete data. The exchange
   * reads one replica per keyspace; a key that reached only some replicas of the source is
   * otherwise missed whenever the coverage reads the others. Default false; `aae repair` and the
   * sync's full checks set it. Inside a cluster, `source` and `sink` mean nothing: lww decides there.
   */
  healReplicas?: boolean;
  /**
   * The repair inside a cluster (and healReplicas' step), with a node known to be down: `skip`
   * leaves out the keyspaces with a replica on it and says so (`unreached`, and inSync false);
   * `fail` (the default) fails with NODE_UNAVAILABLE. Writes need every replica either way: nothing
   * is written to fewer. `aae repair` skips; the sync's checks fail.
   */
  unreachable?: 'fail' | 'skip';
}

export interface LoopReport {
  loop: number;
  /** 'exchange': keys from one exchange; 'range': a pass over every key of the scope on both sides. */
  mode: 'exchange' | 'range';
  differences: number;
  stats: RepairStats;
}

export interface RepairReport {
  inSync: boolean;
  loops: LoopReport[];
  totals: Omit<RepairStats, 'actions' | 'actionsTruncated' | 'dryRun'>;
  dryRun: boolean;
  /** The differences the first exchange found (what compare would have shown). */
  firstDifferences: Difference[];
  /** True when the loop limit stopped the repair before the sides agreed. */
  loopLimitReached: boolean;
  /** With healReplicas: the repair inside each written cluster that came first (source, then sink). */
  replicas?: Array<{ cluster: string; report: RepairReport }>;
  /** A repair of replicas with `unreachable: 'skip'`: the keyspaces it left out, when any were. */
  unreached?: Unreached;
}

/** Enough rounds for 20 × 128 segments of scattered drift; large damage goes by range instead. */
const DEFAULT_MAX_LOOPS = 20;
/**
 * Damage that would take more exchange rounds than this, even at the widest cap (the differences
 * the top of the tree implies, over 8 × maxResults), is repaired by range instead: eight rounds of
 * 1,024 segments cost about what a range pass over a few hundred thousand keys does.
 */
const RANGE_AFTER_ROUNDS = 8;
const DEFAULT_EXCHANGE_MAX_RESULTS = 128;
/** Riak's RANGE_BOOST: how far the loop may widen maxResults for damage it keeps finding. */
const MAX_RESULTS_BOOST = 8;
/**
 * Keys decided together in a range pass: the listing arrives in batches of repl_keys_range's 128;
 * 2000 amortises one read and one write request per vnode over many keys (as the old replication
 * batch did) while a batch's objects stay a few MiB.
 */
const RANGE_BATCH = 2000;

/** The maxResults of each loop's exchange: widened to the limit after a truncated round that repaired something. */
class WideningCap {
  private value: number;
  /** The widest the cap gets: MAX_RESULTS_BOOST × the caller's maxResults. */
  readonly limit: number;
  constructor(base: number | undefined) {
    this.value = base ?? DEFAULT_EXCHANGE_MAX_RESULTS;
    this.limit = this.value * MAX_RESULTS_BOOST;
  }
  get current(): number {
    return this.value;
  }
  after(truncated: boolean, entry: LoopReport): void {
    if (truncated && entry.mode === 'exchange' && entry.stats.placesWritten > 0) this.value = this.limit;
  }
}

function uniqueKeys(ds: ReadonlyArray<{ bucket: string; key: Uint8Array }>): ObjectKey[] {
  const seen = new Map<string, ObjectKey>();
  for (const d of ds) seen.set(keyIdentity(d), { bucket: d.bucket, key: d.key });
  return [...seen.values()];
}

const COUNTERS = ['keys', 'inSync', 'copied', 'resolved', 'reported', 'heldBack', 'placesWritten', 'placesSkipped', 'conflictsLogged'] as const;

function emptyTotals(): RepairReport['totals'] {
  const { dryRun: _d, actions: _a, actionsTruncated: _t, ...totals } = emptyStats(false);
  return totals;
}

function addTotals(t: RepairReport['totals'], s: RepairStats): void {
  for (const k of COUNTERS) t[k] += s[k];
}

function repairOptions(o: RepairRunOptions) {
  return {
    policy: o.policy ?? 'lww',
    ...(o.dryRun === undefined ? {} : { dryRun: o.dryRun }),
    ...(o.direction === undefined ? {} : { direction: o.direction }),
    ...(o.conflictLog === undefined ? {} : { conflictLog: o.conflictLog }),
    ...(o.maxKeysPerSecond === undefined ? {} : { maxKeysPerSecond: o.maxKeysPerSecond }),
    ...(o.onAction === undefined ? {} : { onAction: o.onAction }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  };
}

/**
 * The range pass: every key of the scope on either side, decided once. Each side's keys are listed
 * on its nodes (repl_keys_range, one replica per keyspace) and handed, in batches, to the same
 * repair of keys an exchange round uses — so a dry run decides exactly what a real run writes. The
 * sink is listed first: it is usually the side behind (an empty sink costs nothing here), and a key
 * it holds is decided there and skipped when the source lists it.
 */
async function rangePass(source: Cluster, sink: Cluster, backend: RepairBackend, scope: ExchangeScope, options: RepairRunOptions): Promise<RepairStats> {
  const total = emptyStats(options.dryRun ?? false);
  const decided = new Set<string>();
  const query = scope.kind === 'range' ? rangeQuery(scope) : {};
  for (const side of [sink, source]) {
    let pending: ObjectKey[] = [];
    const decide = async (): Promise<void> => {
      if (pending.length === 0) return;
      const keys = pending;
      pending = [];
      const s = await repairKeys(backend, keys, { ...repairOptions(options), batchSize: RANGE_BATCH });
      addTotals(total, s);
      for (const a of s.actions) if (total.actions.length < 1000) total.actions.push(a);
      total.actionsTruncated ||= s.actionsTruncated || total.actions.length < total.keys;
    };
    await runFold(side, replKeysRange, query, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      sink: async (batch) => {
        for (const k of batch) {
          const id = keyIdentity(k);
          if (decided.has(id)) continue;
          decided.add(id);
          pending.push({ bucket: k.bucket, key: k.key });
        }
        if (pending.length >= RANGE_BATCH) await decide();
      },
    });
    await decide();
  }
  return total;
}

/**
 * The loop both repairs share: compare; stop when in sync or past the loop limit; otherwise run
 * one round and go again — unless a dry run (it changes nothing) or an exchange round that wrote
 * nothing and lost no write to a race (another round would find the same differences).
 */
async function repairLoop<C extends { inSync: boolean; differences: Difference[]; truncated: boolean }>(
  options: RepairRunOptions,
  compare: (maxResults: number) => Promise<C>,
  round: (cmp: C, loop: number, widest: number) => Promise<LoopReport>,
): Promise<RepairReport> {
  const cap = new WideningCap(options.maxResults);
  const maxLoops = options.maxLoops ?? DEFAULT_MAX_LOOPS;
  const dryRun = options.dryRun ?? false;
  const report: RepairReport = { inSync: false, loops: [], totals: emptyTotals(), dryRun, firstDifferences: [], loopLimitReached: false };
  for (let loop = 1; ; loop++) {
    throwIfAborted(options.signal);
    const cmp = await compare(cap.current);
    if (loop === 1) report.firstDifferences = cmp.differences;
    if (cmp.inSync) {
      report.inSync = true;
      break;
    }
    if (loop > maxLoops) {
      report.loopLimitReached = true;
      break;
    }
    const entry = await round(cmp, loop, cap.limit);
    cap.after(cmp.truncated, entry);
    report.loops.push(entry);
    addTotals(report.totals, entry.stats);
    options.onLoop?.(entry);
    if (dryRun) break;
    if (entry.mode === 'exchange' && entry.stats.placesWritten === 0 && entry.stats.placesSkipped === 0) break;
  }
  // A conflict left alone (policy report), or a key held back by the direction, is met again by
  // every loop: the last loop's count is what still stands, not the sum.
  report.totals.reported = report.loops.at(-1)?.stats.reported ?? 0;
  report.totals.heldBack = report.loops.at(-1)?.stats.heldBack ?? 0;
  return report;
}

export async function repairClusters(source: Cluster, sink: Cluster, options: RepairRunOptions = {}): Promise<RepairReport> {
  const replicas: Array<{ cluster: string; report: RepairReport }> = [];
  if (options.healReplicas === true && (options.scope ?? { kind: 'full' }).kind === 'full') {
    const { onLoop: _onLoop, direction, ...inside } = options;
    const policy = options.policy === 'source' || options.policy === 'sink' ? 'lww' : options.policy;
    // A one-way repair never writes the other side, its replicas included.
    const written = direction === 'to-sink' ? [sink] : direction === 'to-source' ? [source] : [source, sink];
    for (const c of written) replicas.push({ cluster: c.spec.name, report: await repairReplicas(c, { ...inside, ...(policy === undefined ? {} : { policy }) }) });
  }
  const report = await repairBetween(source, sink, options);
  if (replicas.length === 0) return report;
  return { ...report, inSync: report.inSync && replicas.every((r) => r.report.inSync), replicas };
}

async function repairBetween(source: Cluster, sink: Cluster, options: RepairRunOptions): Promise<RepairReport> {
  const backend = twoClusterBackend(source, sink);
  const scope = options.scope ?? { kind: 'full' };
  let rangeAllowed = options.rangeReplication ?? true;
  return repairLoop(
    options,
    async (maxResults) => {
      const cmp = await compareClusters(source, sink, { ...options, maxResults, largeDelta: rangeAllowed ? 'report' : 'walk' });
      return { ...cmp, truncated: cmp.exchange.truncated };
    },
    async (cmp, loop, widest): Promise<LoopReport> => {
      // The damage the top of the tree implies, against what the widest loops would move. A dry
      // run that cannot see every difference in one exchange also takes the range pass: it changes
      // nothing, so a second exchange would show the same window, and its listing must be complete.
      const manyRounds = cmp.exchange.estimatedDifferences > RANGE_AFTER_ROUNDS * widest;
      const wholeListing = options.dryRun === true && cmp.truncated;
      if (!rangeAllowed || !(cmp.exchange.largeDelta || manyRounds || wholeListing)) {
        const stats = await repairKeys(backend, uniqueKeys(cmp.differences), repairOptions(options));
        return { loop, mode: 'exchange', differences: cmp.differences.length, stats };
      }
      const stats = await rangePass(source, sink, backend, scope, options);
      // A pass that landed nothing cannot help a second time: what is left needs the exchange.
      if (stats.placesWritten === 0) rangeAllowed = false;
      return { loop, mode: 'range', differences: cmp.differences.length, stats };
    },
  );
}

export async function repairReplicas(cluster: Cluster, options: RepairRunOptions = {}): Promise<RepairReport> {
  if (options.policy === 'source' || options.policy === 'sink') {
    throw new AaeError('USAGE', `--conflict ${options.policy} needs two clusters; inside one cluster use lww or report`);
  }
  const { direction: _direction, ...inside } = options;
  const backend = replicaBackend(cluster);
  let unreached: Unreached | undefined;
  const report = await repairLoop(
    inside,
    async (maxResults) => {
      const cmp = await compareReplicas(cluster, { ...inside, maxResults });
      unreached = cmp.unreached;
      // The loop repairs what it could compare; keyspaces left out make the report not in sync (below).
      return unreached === undefined ? cmp : { ...cmp, inSync: cmp.pairsInSync === cmp.pairs };
    },
    async (cmp, loop) => ({
      loop,
      mode: 'exchange',
      differences: cmp.differences.length,
      stats: await repairKeys(backend, uniqueKeys(cmp.differences), repairOptions(inside)),
    }),
  );
  return unreached === undefined ? report : { ...report, inSync: false, unreached };
}
