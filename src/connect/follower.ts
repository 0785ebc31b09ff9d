import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AaeError, isAaeError, throwIfAborted } from '../errors.js';
import type { ChangeSource, FeedStream, FeedTransaction } from './feed.js';
import { finishSwap, keystoreName, openKeystore, REBUILD_DIR, type OpenKeystore } from './keystore.js';
import { nextRebuild, writeState, type KeystoreState } from './keystore-state.js';
import { KeystoreStore, type HeadChange } from './keystore-store.js';

/**
 * The follower: keeps a keystore current from its source, engine-neutral (docs/CONNECT.md).
 *
 * Riak's parallel keystore, with the gaps made loud:
 * 1. Build: a new subscription with its snapshot (feed.ts); the snapshot's rows go into a fresh
 *    store in rebuild/ while the subscription queues every later change at the source; the
 *    checkpoint is the subscription's start; then the fresh store is swapped in.
 * 2. Follow: stream from the checkpoint; each round applies whole transactions (the old head
 *    comes from the store, so a replay changes nothing), writes the checkpoint with sync, and
 *    only then acknowledges it upstream.
 * 3. Gaps: a subscription that is gone, one that lost data the keystore still needs, one that is
 *    past the keystore's position, a feed stopped longer than `maxStoppedMs` → the keystore is
 *    marked unreliable (state.json: every status and compare says so), rebuilt, and swapped.
 * 4. A scheduled rebuild anyway (two weeks plus up to four days of jitter by default): trees and
 *    heads that drifted by a bug or a bit flip do not survive it.
 * A lost connection is not a gap: the follower reconnects and resumes from its checkpoint.
 *
 * Log codes: CN001 build started, CN002 build done (swapped in), CN003 following (streaming from the
 * checkpoint), CN004 gap (the
 * keystore is unreliable), CN005 reconnecting, CN006 a stale subscription could not be dropped,
 * CN007 truncate applied, CN008 an abandoned build cleaned up.
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
}

export interface FollowReport {
  builds: number;
  transactions: number;
  changes: number;
  position: string | null;
  reliable: boolean;
  gaps: string[];
}

const DEFAULT_RETRY_MS = 2_000;
const DEFAULT_STATUS_EVERY_MS = 1_000;

export async function followKeystore(dir: string, source: ChangeSource, options: FollowOptions = {}): Promise<FollowReport> {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => undefined);
  const report: FollowReport = { builds: 0, transactions: 0, changes: 0, position: null, reliable: false, gaps: [] };
  let ks = await openKeystore(dir);
  const save = async (patch: Partial<KeystoreState>): Promise<void> => {
    ks.state = { ...ks.state, ...patch };
    await writeState(dir, ks.state);
  };
  const markUnreliable = async (reason: string): Promise<void> => {
    log({ code: 'CN004', message: `gap: ${reason}; the keystore is unreliable until rebuilt` });
    report.gaps.push(reason);
    await save({ reliable: false, unreliable: { reason, since: now() } });
  };
  try {
    if (ks.state.phase === 'building') {
      // A build a crash or a stop abandoned: its subscription would hold the source's WAL forever.
      if (ks.state.pending !== null) await source.drop(ks.state.pending);
      await rm(join(dir, REBUILD_DIR), { recursive: true, force: true });
      log({ code: 'CN008', message: `an abandoned build (${ks.state.pending ?? 'no subscription'}) was cleaned up` });
      await save({ phase: ks.state.subscription === null ? 'new' : 'ready', pending: null });
    }
    const spec = ks.spec;
    for (;;) {
      throwIfAborted(options.signal);
      const s = ks.state;
      let why: string | null = null;
      if (s.phase === 'new' || s.subscription === null) why = 'first build';
      else if (!s.reliable) why = `rebuild after a gap (${s.unreliable?.reason ?? 'unknown'})`;
      else if (s.nextRebuildAt !== null && now() >= s.nextRebuildAt) why = 'scheduled rebuild';
      if (why === null && spec.maxStoppedMs > 0 && s.followedAt !== null && now() - s.followedAt > spec.maxStoppedMs) {
        await markUnreliable(`the feed was stopped for ${Math.round((now() - s.followedAt) / 60_000)} min, past the limit of ${Math.round(spec.maxStoppedMs / 60_000)} min`);
        continue;
      }
      if (why === null) {
        const position = await ks.store.position();
        const gap = position === null ? 'the store has no checkpoint' : await source.checkResume(s.subscription!, position);
        if (gap !== null) {
          await markUnreliable(gap);
          continue;
        }
        try {
          const outcome = await followStream(ks, source, position!, options, report, save, now);
          if (outcome === 'caught-up') break;
          continue; // a scheduled rebuild is due
        } catch (e) {
          if (isAaeError(e, 'FEED_GAP')) {
            await markUnreliable(e.message);
            continue;
          }
          if (isAaeError(e, 'SOURCE_UNAVAILABLE') && options.once !== true && !(options.signal?.aborted ?? false)) {
            log({ code: 'CN005', message: `${e.message}; reconnecting in ${options.retryMs ?? DEFAULT_RETRY_MS} ms` });
            await sleep(options.retryMs ?? DEFAULT_RETRY_MS, options.signal);
            continue;
          }
          throw e;
        }
      }
      try {
        ks = await rebuild(ks, source, why, options, save, now, log);
      } catch (e) {
        // A source that cannot be reached mid-rebuild (a failover under way) is retried, as a lost feed is.
        if (isAaeError(e, 'SOURCE_UNAVAILABLE') && options.once !== true && !(options.signal?.aborted ?? false)) {
          log({ code: 'CN005', message: `${e.message}; retrying the build in ${options.retryMs ?? DEFAULT_RETRY_MS} ms` });
          await sleep(options.retryMs ?? DEFAULT_RETRY_MS, options.signal);
          continue;
        }
        throw e;
      }
      report.builds++;
    }
  } finally {
    report.position = ks.state.position;
    report.reliable = ks.state.reliable;
    await ks.store.close();
  }
  return report;
}

/** Streams and applies until caught up (once) or a scheduled rebuild is due; throws on a gap or a lost connection. */
async function followStream(
  ks: OpenKeystore,
  source: ChangeSource,
  from: string,
  options: FollowOptions,
  report: FollowReport,
  save: (patch: Partial<KeystoreState>) => Promise<void>,
  now: () => number,
): Promise<'caught-up' | 'rebuild'> {
  const target = options.once === true ? await source.currentPosition() : null;
  const stream: FeedStream = await source.stream(ks.state.subscription!, from);
  options.log?.({ code: 'CN003', message: `following ${ks.state.subscription!} from ${from}${target === null ? '' : ` up to ${target}`}` });
  let position = from;
  let lastSave = 0;
  let lagMs = 0;
  const status = async (force: boolean): Promise<void> => {
    if (!force && now() - lastSave < (options.statusEveryMs ?? DEFAULT_STATUS_EVERY_MS)) return;
    lastSave = now();
    const head = await source.currentPosition().catch(() => null);
    const bytes = head === null ? (ks.state.lag?.bytes ?? 0) : source.distance(position, head);
    await save({ position, followedAt: now(), lag: { bytes, seconds: lagMs / 1000, at: now() } });
  };
  try {
    for (;;) {
      const batch = await stream.next(options.signal);
      if (batch.kind === 'transactions') {
        const n = await applyTransactions(ks.store, source, batch.transactions, options);
        const last = batch.transactions[batch.transactions.length - 1]!;
        position = last.position;
        await ks.store.checkpoint(position); // durable first …
        await stream.acknowledge(position); // … then acknowledged
        lagMs = Math.max(0, now() - last.commitTime);
        report.transactions += batch.transactions.length;
        report.changes += n;
        options.onProgress?.({ kind: 'applied', transactions: batch.transactions.length, changes: n, position, lagMs });
        await status(false);
      } else {
        if (source.comparePositions(batch.position, position) > 0) {
          position = batch.position;
          await ks.store.checkpoint(position);
          await stream.acknowledge(position);
        }
        lagMs = 0;
        options.onProgress?.({ kind: 'idle', position });
        await status(false);
        if (target !== null && source.comparePositions(position, target) >= 0) {
          await status(true);
          return 'caught-up';
        }
      }
      if (target === null && ks.state.nextRebuildAt !== null && now() >= ks.state.nextRebuildAt) {
        await status(true);
        return 'rebuild';
      }
    }
  } finally {
    await stream.close();
    await status(true).catch(() => undefined);
  }
}

/** Applies transactions in order; a truncate or a refetch is a barrier (what comes before it lands first). Returns the changes applied. */
async function applyTransactions(store: KeystoreStore, source: ChangeSource, txns: readonly FeedTransaction[], options: FollowOptions): Promise<number> {
  let pending: HeadChange[] = [];
  let refetch: Uint8Array[] = [];
  let n = 0;
  const flushRefetch = async (): Promise<void> => {
    if (refetch.length === 0) return;
    const rows = await source.fetchRows(refetch);
    await store.apply(rows.map((r, i) => (r === null ? { kind: 'delete', key: refetch[i]! } : { kind: 'set', key: r.key, values: r.values, lastModified: r.lastModified, ...(r.digest === undefined ? {} : { digest: r.digest }) })));
    refetch = [];
  };
  for (const t of txns) {
    for (const c of t.changes) {
      n++;
      if (c.kind === 'upsert') pending.push({ kind: 'set', key: c.key, values: c.values, lastModified: c.lastModified, ...(c.digest === undefined ? {} : { digest: c.digest }) });
      else if (c.kind === 'delete') pending.push({ kind: 'delete', key: c.key });
      else {
        await store.apply(pending);
        pending = [];
        if (c.kind === 'refetch') refetch.push(c.key);
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

/** Builds a fresh store from a new subscription's snapshot in rebuild/, swaps it in, drops the old subscription. */
async function rebuild(
  ks: OpenKeystore,
  source: ChangeSource,
  why: string,
  options: FollowOptions,
  save: (patch: Partial<KeystoreState>) => Promise<void>,
  now: () => number,
  log: (l: FollowLog) => void,
): Promise<OpenKeystore> {
  const { dir, spec } = ks;
  const generation = ks.state.generation + 1;
  const name = `${spec.source.slot}_${generation}`;
  log({ code: 'CN001', message: `${why}: building from a new snapshot (subscription ${name})` });
  await save({ phase: 'building', pending: name, generation });
  const buildDir = join(dir, REBUILD_DIR);
  await rm(buildDir, { recursive: true, force: true });
  const target = await KeystoreStore.create(buildDir, keystoreName(dir), spec.bucket);
  let position: string;
  let rows = 0;
  try {
    const sub = await source.subscribe(name, options.signal === undefined ? {} : { signal: options.signal });
    try {
      // Two batches in flight: the next is hashed and handed to the vnode queues (which keep
      // order) while the last lands; the checkpoint below waits for all of them.
      const inFlight: Array<Promise<void>> = [];
      try {
        for await (const batch of sub.rows(options.signal)) {
          const landing = target.applyRows(batch);
          landing.catch(() => undefined);
          inFlight.push(landing);
          if (inFlight.length >= 2) await inFlight.shift();
          rows += batch.length;
          options.onProgress?.({ kind: 'scan', rows });
        }
      } finally {
        await Promise.allSettled(inFlight);
      }
      await Promise.all(inFlight);
    } finally {
      await sub.close();
    }
    position = sub.position;
    await target.checkpoint(position);
    await target.close();
  } catch (e) {
    await target.close().catch(() => undefined);
    await rm(buildDir, { recursive: true, force: true }).catch(() => undefined);
    await source.drop(name).catch(() => undefined);
    await save({ phase: ks.state.subscription === null ? 'new' : 'ready', pending: null });
    throw e;
  }
  const old = ks.state.subscription;
  await save({ phase: 'swapping', position });
  await ks.store.close();
  const swapped = await finishSwap(dir, ks.state);
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
  log({ code: 'CN002', message: `built ${rows} row(s) at ${position} and swapped in` });
  if (old !== null && old !== state.subscription) {
    await source.drop(old).catch((e: unknown) => log({ code: 'CN006', message: `could not drop the old subscription ${old}: ${(e as Error).message}` }));
  }
  return { dir, spec, state, store: await KeystoreStore.open(dir, spec.bucket) };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AaeError('ABORTED', 'stopped', { cause: signal.reason }));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new AaeError('ABORTED', 'stopped', { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
