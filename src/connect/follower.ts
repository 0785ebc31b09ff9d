import { setTimeout as delay } from 'node:timers/promises';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AaeError, isAaeError, throwIfAborted } from '../errors.js';
import type { ChangeSource, FeedStream, FeedTransaction, ValueDigest } from './feed.js';
import type { RowValues } from './row-bytes.js';
import { finishSwap, openKeystore, REBUILD_DIR, type OpenKeystore } from './keystore.js';
import { nextRebuild, writeState, type KeystoreState } from './keystore-state.js';
import { KeystoreStore, type HeadChange } from './keystore-store.js';

/**
 * The follower: keeps a keystore current from its source, engine-neutral (docs/CONNECT.md).
 *
 * Riak's parallel keystore, with the gaps made loud:
 * 1. Build: a new subscription with its snapshot (feed.ts); the snapshot's rows go into a fresh
 *    store in rebuild/ by the store's bulk load (sorted heads, trees built in one pass) while the
 *    subscription queues every later change at the source; the checkpoint is the subscription's
 *    start; then the fresh store is swapped in.
 * 2. Follow: stream from the checkpoint; each round applies whole transactions (the old head
 *    comes from the store, so a replay changes nothing). The checkpoint is made durable (sync) and
 *    only then acknowledged upstream, at most once a second while changes keep coming (each sync
 *    is a disk flush the source's own commits wait behind) and whenever the feed is caught up or
 *    stops: a crash replays at most a second of changes, which is harmless.
 * 3. Gaps: a subscription that is gone, one that lost data the keystore still needs, one that is
 *    past the keystore's position, a feed stopped longer than `maxStoppedMs` → the keystore is
 *    marked unreliable (state.json: every status and compare says so), rebuilt, and swapped.
 * 4. A scheduled rebuild anyway (two weeks plus up to four days of jitter by default): trees and
 *    heads that drifted by a bug or a bit flip do not survive it. A store built before position
 *    clocks (keystore-clock.ts) is rebuilt too, so that its rows carry them.
 * A lost connection is not a gap: the follower reconnects and resumes from its checkpoint.
 *
 * A `Follower` runs over an open keystore that someone else may be serving (keystore-node.ts):
 * `applied` is the position whose changes the store (and its trees) hold, `waitFor` resolves once
 * it reaches a position (read-your-writes for writes made through the source), and a swap runs
 * inside the `exclusive` hook it is given, so a node can hold its requests back meanwhile.
 * `followKeystore` is the whole job for `aae follow`: open, run, close.
 *
 * Log codes: CN001 build started, CN002 build done (swapped in), CN003 following (streaming from the
 * checkpoint), CN004 gap (the keystore is unreliable), CN005 reconnecting, CN006 a stale
 * subscription could not be dropped, CN007 truncate applied, CN008 an abandoned build cleaned up.
 */

export interface FollowLog {
  code: `CN00${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8}`;
  message: string;
}

export type FollowProgress =
  | { kind: 'scan'; rows: number }
  | { kind: 'applied'; transactions: number; changes: number; position: string; lagMs: number }
  | { kind: 'idle'; position: string };

export interface FollowOptions {
  /** Build or catch up to the source's current position, then return (for cron and scripts). */
  once?: boolean;
  signal?: AbortSignal;
  log?: (line: FollowLog) => void;
  onProgress?: (p: FollowProgress) => void;
  /** Wait before reconnecting after a lost connection (ms). */
  retryMs?: number;
  now?: () => number;
  random?: () => number;
  /** How often state.json is rewritten while following (ms). */
  statusEveryMs?: number;
  /** How often, at most, the checkpoint is made durable and acknowledged while changes keep coming (ms). */
  checkpointEveryMs?: number;
  /**
   * Whether this run may rebuild (default true). Without: a gap marks the keystore unreliable and
   * ends the run (FEED_GAP), and a scheduled rebuild waits for a run that may (`aae follow`).
   */
  rebuilds?: boolean;
}

export interface FollowReport {
  builds: number;
  transactions: number;
  changes: number;
  position: string | null;
  reliable: boolean;
  gaps: string[];
}

/** Hooks for whoever serves the keystore while it is followed. */
export interface FollowerHooks {
  /** Runs a swap (the old store closed, the new one opened) while no request uses the store. */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
}

const DEFAULT_RETRY_MS = 2_000;
/** state.json is for other processes (`follow --status`): every 5 s is enough, and each write is two fsyncs. */
const DEFAULT_STATUS_EVERY_MS = 5_000;
/** At most one synced checkpoint a second while changes keep coming (see the file comment). */
const DEFAULT_CHECKPOINT_EVERY_MS = 1_000;
/**
 * A round smaller than this many changes is followed by a pause of ROUND_GATHER_MS, so that the
 * next round gathers what arrives meanwhile. A round costs the follower ~200 µs of CPU however
 * small it is (a vnode flush: a read and a write through LevelDB's thread pool, the queue's
 * promises); under a steady load of single-row transactions, one round each took as much CPU as
 * the source's own backends and cut their throughput in half. A busy feed's rounds are big
 * anyway; a quiet one's lag grows by at most the pause.
 */
const SMALL_ROUND = 1_000;
const ROUND_GATHER_MS = 25;

export async function followKeystore(dir: string, source: ChangeSource, options: FollowOptions = {}): Promise<FollowReport> {
  const follower = new Follower(await openKeystore(dir), source);
  try {
    return await follower.run(options);
  } finally {
    await follower.keystore.store.close();
  }
}

interface Waiter {
  target: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Follower {
  private applied: string | null = null;
  private running = false;
  private waiters: Waiter[] = [];
  private lag: { bytes: number; seconds: number; at: number } | null = null;

  constructor(
    private ks: OpenKeystore,
    private readonly source: ChangeSource,
    private readonly hooks: FollowerHooks = {},
  ) {
    this.applied = ks.state.position;
  }

  /** The keystore as it is now (its store changes when a rebuild is swapped in). */
  get keystore(): OpenKeystore {
    return this.ks;
  }

  /** The position whose changes the store holds (ahead of the durable checkpoint by at most a second of changes). */
  get position(): string | null {
    return this.applied;
  }

  /** Live lag while running (state.json's is rewritten every few seconds). */
  get currentLag(): { bytes: number; seconds: number; at: number } | null {
    return this.lag ?? this.ks.state.lag;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Resolves once the store holds every change up to `position`; rejects when the run ends first
   * (or is not running), or on `signal`.
   */
  waitFor(position: string, signal?: AbortSignal): Promise<void> {
    if (this.applied !== null && this.source.comparePositions(this.applied, position) >= 0) return Promise.resolve();
    if (!this.running) return Promise.reject(new AaeError('SOURCE_UNAVAILABLE', `the keystore's feed is not running: it cannot catch up to ${position}`));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        target: position,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new AaeError('ABORTED', 'stopped waiting for the keystore to catch up', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  private advance(position: string): void {
    this.applied = position;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.source.comparePositions(position, w.target) >= 0) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private endWaiters(e: unknown): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(e);
  }

  /** The source answers again (or the follower stops): the unreachable mark, if any, goes. */
  private async reached(): Promise<void> {
    if (this.ks.state.unreachable === undefined) return;
    const { unreachable: _gone, ...rest } = this.ks.state;
    this.ks.state = rest;
    await writeState(this.ks.dir, this.ks.state);
  }

  private async save(patch: Partial<KeystoreState>): Promise<void> {
    this.ks.state = { ...this.ks.state, ...patch };
    await writeState(this.ks.dir, this.ks.state);
  }

  /** Builds, follows, rebuilds as needed: until caught up (`once`), stopped (`signal`) or failed. */
  async run(options: FollowOptions = {}): Promise<FollowReport> {
    if (this.running) throw new TypeError('the follower is already running');
    this.running = true;
    const now = options.now ?? Date.now;
    const log = options.log ?? (() => undefined);
    const rebuilds = options.rebuilds ?? true;
    const report: FollowReport = { builds: 0, transactions: 0, changes: 0, position: null, reliable: false, gaps: [] };
    const markUnreliable = async (reason: string): Promise<void> => {
      log({ code: 'CN004', message: `gap: ${reason}; the keystore is unreliable until rebuilt` });
      report.gaps.push(reason);
      await this.save({ reliable: false, unreliable: { reason, since: now() } });
      if (!rebuilds) throw new AaeError('FEED_GAP', `${reason}: the keystore is unreliable until aae follow rebuilds it`);
    };
    let failure: unknown = null;
    try {
      if (this.ks.state.phase === 'building') {
        // A build a crash or a stop abandoned: its subscription would hold the source's WAL forever.
        if (this.ks.state.pending !== null) await this.source.drop(this.ks.state.pending);
        await rm(join(this.ks.dir, REBUILD_DIR), { recursive: true, force: true });
        log({ code: 'CN008', message: `an abandoned build (${this.ks.state.pending ?? 'no subscription'}) was cleaned up` });
        await this.save({ phase: this.ks.state.subscription === null ? 'new' : 'ready', pending: null });
      }
      const spec = this.ks.spec;
      for (;;) {
        throwIfAborted(options.signal);
        // A lost connection anywhere in a round (the resume check, the stream, a rebuild) is retried
        // until the source answers again, unless this run is a one-off (once) or was stopped.
        try {
          const s = this.ks.state;
          let why: string | null = null;
          if (s.phase === 'new' || s.subscription === null) why = 'first build';
          else if (!s.reliable) why = `rebuild after a gap (${s.unreliable?.reason ?? 'unknown'})`;
          else if (rebuilds && s.nextRebuildAt !== null && now() >= s.nextRebuildAt) why = 'scheduled rebuild';
          else if (rebuilds && this.ks.store.clock === undefined) why = 'rebuild for position clocks (the store predates them)';
          if (why !== null && !rebuilds) throw new AaeError('KEYSTORE_UNRELIABLE', `${this.ks.dir} needs a ${why}: run aae follow`);
          if (why === null && spec.maxStoppedMs > 0 && s.followedAt !== null && now() - s.followedAt > spec.maxStoppedMs) {
            await markUnreliable(`the feed was stopped for ${Math.round((now() - s.followedAt) / 60_000)} min, past the limit of ${Math.round(spec.maxStoppedMs / 60_000)} min`);
            continue;
          }
          if (why === null) {
            const position = await this.ks.store.position();
            const gap = position === null ? 'the store has no checkpoint' : await this.source.checkResume(s.subscription!, position);
            await this.reached();
            if (gap !== null) {
              await markUnreliable(gap);
              continue;
            }
            if (this.applied === null || this.source.comparePositions(position!, this.applied) > 0) this.advance(position!);
            try {
              const outcome = await this.followStream(position!, options, report, now, rebuilds);
              if (outcome === 'caught-up') break;
              continue; // a scheduled rebuild is due
            } catch (e) {
              if (isAaeError(e, 'FEED_GAP')) {
                await markUnreliable(e.message);
                continue;
              }
              throw e;
            }
          }
          await this.rebuild(why, options, now, log);
          report.builds++;
        } catch (e) {
          if (isAaeError(e, 'SOURCE_UNAVAILABLE') && options.once !== true && !(options.signal?.aborted ?? false)) {
            log({ code: 'CN005', message: `${e.message}; reconnecting in ${options.retryMs ?? DEFAULT_RETRY_MS} ms` });
            // Status readers (follow --status, cluster status) see it: reliable, but not current.
            await this.save({ unreachable: { reason: e.message, since: this.ks.state.unreachable?.since ?? now() } }).catch(() => undefined);
            await sleep(options.retryMs ?? DEFAULT_RETRY_MS, options.signal);
            continue;
          }
          throw e;
        }
      }
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      this.running = false;
      // Nothing reconnects once the follower stops: a stopped follower does not say "reconnecting".
      await this.reached().catch(() => undefined);
      this.endWaiters(failure ?? new AaeError('SOURCE_UNAVAILABLE', "the keystore's feed stopped before it caught up"));
      report.position = this.ks.state.position;
      report.reliable = this.ks.state.reliable;
    }
    return report;
  }

  /** Streams and applies until caught up (once) or a scheduled rebuild is due; throws on a gap or a lost connection. */
  private async followStream(from: string, options: FollowOptions, report: FollowReport, now: () => number, rebuilds: boolean): Promise<'caught-up' | 'rebuild'> {
    const source = this.source;
    const store = this.ks.store;
    const target = options.once === true ? await source.currentPosition() : null;
    const stream: FeedStream = await source.stream(this.ks.state.subscription!, from);
    options.log?.({ code: 'CN003', message: `following ${this.ks.state.subscription!} from ${from}${target === null ? '' : ` up to ${target}`}` });
    await this.reached();
    let position = from;
    let durable = from;
    let lastDurable = now();
    let lastSave = 0;
    let lagMs = 0;
    const checkpointEvery = options.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS;
    /** The checkpoint made durable (sync), then acknowledged: never the other way round. */
    const makeDurable = async (): Promise<void> => {
      if (source.comparePositions(position, durable) <= 0) return;
      const p = position;
      await store.checkpoint(p);
      durable = p;
      lastDurable = now();
      await stream.acknowledge(p);
    };
    const status = async (force: boolean): Promise<void> => {
      if (!force && now() - lastSave < (options.statusEveryMs ?? DEFAULT_STATUS_EVERY_MS)) return;
      lastSave = now();
      const head = await source.currentPosition().catch(() => null);
      // Without the source's position there is no new measure: the last one stands, with its own time.
      if (head !== null) this.lag = { bytes: source.distance(position, head), seconds: lagMs / 1000, at: now() };
      await this.save({ position: durable, followedAt: now(), lag: this.lag });
    };
    try {
      for (;;) {
        const batch = await stream.next(options.signal);
        if (batch.kind === 'transactions') {
          const n = await applyTransactions(store, source, batch.transactions, options);
          const last = batch.transactions[batch.transactions.length - 1]!;
          position = last.position;
          this.advance(position);
          lagMs = Math.max(0, now() - last.commitTime);
          this.lag = { bytes: this.lag?.bytes ?? 0, seconds: lagMs / 1000, at: now() };
          if (now() - lastDurable >= checkpointEvery) await makeDurable();
          report.transactions += batch.transactions.length;
          report.changes += n;
          options.onProgress?.({ kind: 'applied', transactions: batch.transactions.length, changes: n, position, lagMs });
          await status(false);
          if (n < SMALL_ROUND && target === null) await sleep(ROUND_GATHER_MS, options.signal);
        } else {
          if (source.comparePositions(batch.position, position) > 0) {
            position = batch.position;
            this.advance(position);
          }
          lagMs = 0;
          if (now() - lastDurable >= checkpointEvery) await makeDurable();
          options.onProgress?.({ kind: 'idle', position });
          await status(false);
          if (target !== null && source.comparePositions(position, target) >= 0) {
            await makeDurable();
            await status(true);
            return 'caught-up';
          }
        }
        if (rebuilds && target === null && this.ks.state.nextRebuildAt !== null && now() >= this.ks.state.nextRebuildAt) {
          await makeDurable();
          await status(true);
          return 'rebuild';
        }
      }
    } finally {
      // Whatever ended the stream, what was applied becomes durable (the next start resumes there).
      await makeDurable().catch(() => undefined);
      await stream.close();
      await status(true).catch(() => undefined);
    }
  }

  /** Builds a fresh store from a new subscription's snapshot in rebuild/, swaps it in, drops the old subscription. */
  private async rebuild(why: string, options: FollowOptions, now: () => number, log: (l: FollowLog) => void): Promise<void> {
    const { dir, spec } = this.ks;
    const source = this.source;
    const generation = this.ks.state.generation + 1;
    const name = `${spec.source.slot}_${generation}`;
    log({ code: 'CN001', message: `${why}: building from a new snapshot (subscription ${name})` });
    await this.save({ phase: 'building', pending: name, generation });
    const buildDir = join(dir, REBUILD_DIR);
    await rm(buildDir, { recursive: true, force: true });
    let position: string;
    let rows = 0;
    try {
      const sub = await source.subscribe(name, options.signal === undefined ? {} : { signal: options.signal });
      await this.reached();
      try {
        // The live cluster.json's name, not the directory's: it may have been chosen (connect --name).
        const target = await KeystoreStore.build(buildDir, this.ks.store.cluster.spec.name, spec.bucket, { actor: sub.clock?.actor ?? null });
        try {
          for await (const batch of sub.rows(options.signal)) {
            await target.add(batch, sub.clock?.counter);
            rows += batch.length;
            options.onProgress?.({ kind: 'scan', rows });
          }
          await target.finish(sub.position);
        } catch (e) {
          await target.abort().catch(() => undefined);
          throw e;
        }
      } finally {
        await sub.close();
      }
      position = sub.position;
    } catch (e) {
      await rm(buildDir, { recursive: true, force: true }).catch(() => undefined);
      await source.drop(name).catch(() => undefined);
      await this.save({ phase: this.ks.state.subscription === null ? 'new' : 'ready', pending: null });
      throw e;
    }
    const old = this.ks.state.subscription;
    await this.save({ phase: 'swapping', position });
    const exclusive = this.hooks.exclusive ?? (<T>(fn: () => Promise<T>) => fn());
    await exclusive(async () => {
      await this.ks.store.close();
      const swapped = await finishSwap(dir, this.ks.state);
      const t = now();
      const state: KeystoreState = {
        ...swapped,
        reliable: true,
        unreliable: null,
        builtAt: t,
        followedAt: t,
        nextRebuildAt: nextRebuild(t, spec.rebuildEveryMs, spec.rebuildJitterMs, options.random),
        rebuilds: swapped.rebuilds + (old === null ? 0 : 1),
        lag: null,
      };
      await writeState(dir, state);
      this.ks = { dir, spec, state, store: await KeystoreStore.open(dir, spec.bucket) };
      this.lag = null;
      this.advance(position);
    });
    log({ code: 'CN002', message: `built ${rows} row(s) at ${position} and swapped in` });
    if (old !== null && old !== this.ks.state.subscription) {
      await source.drop(old).catch((e: unknown) => log({ code: 'CN006', message: `could not drop the old subscription ${old}: ${(e as Error).message}` }));
    }
  }
}

/** Applies transactions in order; a truncate or a refetch is a barrier (what comes before it lands first). Returns the changes applied. */
async function applyTransactions(store: KeystoreStore, source: ChangeSource, txns: readonly FeedTransaction[], options: FollowOptions): Promise<number> {
  let pending: HeadChange[] = [];
  let refetch: Array<{ key: Uint8Array; counter: number | undefined }> = [];
  let n = 0;
  const flushRefetch = async (): Promise<void> => {
    if (refetch.length === 0) return;
    const rows = await source.fetchRows(refetch.map((r) => r.key));
    await store.apply(
      rows.map((r, i): HeadChange => {
        const counter = refetch[i]!.counter;
        if (r === null) return { kind: 'delete', key: refetch[i]!.key };
        return setOf(r.key, r.values, r.lastModified, counter, r.digest);
      }),
    );
    refetch = [];
  };
  for (const t of txns) {
    for (const c of t.changes) {
      n++;
      if (c.kind === 'upsert') {
        pending.push(setOf(c.key, c.values, c.lastModified, t.counter, c.digest));
      } else if (c.kind === 'delete') pending.push({ kind: 'delete', key: c.key });
      else {
        await store.apply(pending);
        pending = [];
        if (c.kind === 'refetch') refetch.push({ key: c.key, counter: t.counter });
        else {
          await flushRefetch();
          const erased = await store.truncate(options.signal);
          options.log?.({ code: 'CN007', message: `truncate: ${erased} key(s) erased` });
        }
      }
    }
    if (refetch.length > 0) {
      await store.apply(pending);
      pending = [];
      await flushRefetch();
    }
  }
  await store.apply(pending);
  return n;
}

/** A set change, with a position counter and an engine's digest only where there are (exactOptionalPropertyTypes). */
function setOf(key: Uint8Array, values: RowValues, lastModified: number, counter: number | undefined, digest: ValueDigest | undefined): HeadChange {
  return { kind: 'set', key, values, lastModified, ...(counter === undefined ? {} : { counter }), ...(digest === undefined ? {} : { digest }) };
}

/** Waits `ms`; a stop (the signal) ends the wait at once with ABORTED. */
async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (e) {
    throw new AaeError('ABORTED', 'stopped', { cause: signal?.reason ?? e });
  }
}
