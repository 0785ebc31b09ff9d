/**
 * One sync runner across machines: an etcd lease as the lock, the sync state in etcd
 * (coordination.ts says why).
 *
 * Keys, under a prefix (default `aae/sync/`) and the pair's name (`<source>/<sink>[+<bucket>]`,
 * each part URI-encoded):
 *   …/lock    the holder ("host pid n, <random id>"), attached to the holder's lease
 *   …/state   the sync state, as the state file holds it (docs/SYNC.md)
 *
 * Acquire: grant a lease of `ttlSeconds` (kept alive by the etcd3 client, every third of it), then
 * a transaction that creates the lock key with that lease only if it does not exist. A runner that
 * finds it held waits (`wait`: a standby daemon; it retries every second) or fails with SYNC_BUSY.
 * When the holder dies, its lease expires after at most `ttlSeconds` and etcd deletes the lock key,
 * so a standby takes over within the lease time (plus a second). If the holder's own keepalives fail
 * past the lease (etcd unreachable), `lost` fires and it stops; every state write is a transaction
 * that compares the lock key's value with this holder's id, so a runner that lost its lease can never
 * overwrite its successor's state.
 *
 * etcd that stalls (a network path that stops forwarding, a frozen etcd: the connection stays open
 * and nothing comes back) is told from etcd that is down only by time, so every request has a
 * deadline (ETCD_CALL_DEADLINE_MS) and is then an unreachable etcd like any other: a standby keeps
 * waiting (and takes a fresh lease if its own died meanwhile), a `--once` or `--status` fails, and a
 * holder that lost its lease lets go without waiting on etcd. A stop (the signal) ends a call at once.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Etcd3, EtcdLeaseInvalidError, GRPCDeadlineExceededError, isRecoverableError, type IOptions, type Lease } from 'etcd3';
import { raceAbort } from '../abort.js';
import { AaeError, messageOf } from '../errors.js';
import type { SyncState } from './checks.js';
import type { SyncCoordination } from './coordination.js';
import type { CheckReport } from './run-check.js';
import { encodeSyncState, noState, parseSyncStatus, type SyncIdentity, type SyncStatus } from './state-file.js';

export const DEFAULT_LOCK_TTL_SECONDS = 10;
/**
 * The longest one etcd request (a read, a transaction, a lease grant or revoke) may go unanswered
 * before etcd counts as unreachable. 3 s: a healthy etcd answers in milliseconds (a transaction is
 * one raft round and an fsync), and one that is electing a leader (about a second, at etcd's default
 * election timeout) still answers in time; yet it is well under the lease (10 s by default), so a
 * `--once` or `--status` against a stalled etcd fails in seconds, and a holder that lost its lease
 * (its watchdog fires at two thirds of the lease) is gone within the lease time. Each member is
 * asked once per request, so with several members a request may take a deadline for each.
 */
export const ETCD_CALL_DEADLINE_MS = 3_000;
/** etcd's client port, for an endpoint given without one (gRPC would dial 443, the https port). */
const ETCD_CLIENT_PORT = 2379;
const RETRY_MS = 1_000;
/** How often a holder checks that its lease is still being renewed. */
const WATCHDOG_MS = 250;

export interface EtcdLockOptions {
  /** http(s)://host:port of each member. */
  endpoints: readonly string[];
  /** Key prefix (default `aae/sync/`). */
  prefix?: string;
  ttlSeconds?: number;
  /** Wait for the lock (a standby daemon) instead of failing with SYNC_BUSY. */
  wait?: boolean;
  /** Called once when the runner starts waiting, with the current holder. */
  onWait?: (holder: string) => void;
  signal?: AbortSignal;
}

/** `etcd://h1:2379,h2[/prefix/]` → endpoints (port 2379 when none is given) and prefix; null when it is not one. */
export function parseLockUrl(url: string): { endpoints: string[]; prefix: string } | null {
  const m = /^(etcd|etcds|http|https):\/\/([^/\s]+)(\/[^\s]*)?$/.exec(url.trim());
  if (m === null) return null;
  const scheme = m[1] === 'etcds' || m[1] === 'https' ? 'https' : 'http';
  const path = (m[3] ?? '/').replace(/^\//, '');
  return { endpoints: m[2]!.split(',').filter((h) => h !== '').map((h) => `${scheme}://${/:\d+$/.test(h) ? h : `${h}:${ETCD_CLIENT_PORT}`}`), prefix: path === '' ? 'aae/sync/' : path.endsWith('/') ? path : `${path}/` };
}

function keysOf(prefix: string, who: SyncIdentity): { lock: string; state: string; base: string } {
  const base = `${prefix}${encodeURIComponent(who.source)}/${encodeURIComponent(who.sink)}${who.bucket === undefined ? '' : `+${encodeURIComponent(who.bucket)}`}`;
  return { base, lock: `${base}/lock`, state: `${base}/state` };
}

/**
 * A client whose every unary request has a deadline (ETCD_CALL_DEADLINE_MS). Streams get none: the
 * lease's keepalive stream lives as long as the lease and has its own watch (the holder's watchdog).
 * The deadline covers connecting too (etcd3 1.1 ignores `dialTimeout`).
 *
 * After a request fails unreachable, etcd3 drops that member's gRPC client for a new one; its own
 * connections (a local subchannel pool), so the new client dials afresh rather than reusing a
 * connection wedged by the stall (gRPC's shared pool would keep it). A request is tried on the next
 * member, each member once: etcd3's default (three retries) would make one stalled member cost four
 * deadlines. etcd3's circuit breaker (a member left alone for 5 s after three failures) helps only
 * when there is another member to ask: with one, it would only hold a standby up after etcd is back.
 */
function client(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + ETCD_CALL_DEADLINE_MS }),
    grpcOptions: { 'grpc.use_local_subchannel_pool': 1 },
    faultHandling: { global: eachMemberOnce(endpoints.length), ...(endpoints.length === 1 ? { host: () => eachMemberOnce(1) } : {}) },
  });
}

/** A cockatiel policy (the part etcd3 calls) that runs a request up to `members` times while it fails unreachable. */
function eachMemberOnce(members: number): Policy {
  const policy = {
    async execute<T>(fn: () => Promise<T> | T): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn();
        } catch (e) {
          if (attempt >= members || !(e instanceof Error) || !isRecoverableError(e)) throw e;
        }
      }
    },
  };
  return policy as unknown as Policy;
}
type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** What went wrong with an etcd request, a stall said as such. */
function reasonOf(e: unknown): string {
  return e instanceof GRPCDeadlineExceededError ? `no answer within ${ETCD_CALL_DEADLINE_MS / 1000} s (etcd stalled?)` : messageOf(e);
}

/** A lease taken for the lock; `lostWith` is set when the etcd3 client gives it up (etcd said it expired, or no renewal for twice its time). */
interface Candidate {
  readonly lease: Lease;
  id: string;
  lostWith: Error | null;
  /** When etcd last renewed it (or granted it). */
  renewedAt: number;
}

async function grantLease(etcd: Etcd3, ttlSeconds: number, signal: AbortSignal | undefined): Promise<Candidate> {
  const lease = etcd.lease(ttlSeconds);
  const candidate: Candidate = { lease, id: '', lostWith: null, renewedAt: 0 };
  lease.on('lost', (e) => (candidate.lostWith ??= e));
  lease.on('keepaliveSucceeded', () => (candidate.renewedAt = Date.now()));
  try {
    candidate.id = await untilStopped(lease.grant(), signal);
  } catch (e) {
    // Not revoked: a grant that never answered has nothing to revoke, and one that answers late
    // gets no keepalives (it expires by itself, holding no key).
    lease.release();
    throw e;
  }
  candidate.renewedAt = Date.now();
  return candidate;
}

export async function etcdCoordination(who: SyncIdentity, options: EtcdLockOptions): Promise<SyncCoordination> {
  const keys = keysOf(options.prefix ?? 'aae/sync/', who);
  const where = `etcd ${options.endpoints.join(',')}: ${keys.base}`;
  const etcd = client(options.endpoints);
  const id = `${hostname()} pid ${process.pid}, ${randomBytes(6).toString('hex')}`;
  const lost = new AbortController();
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_LOCK_TTL_SECONDS;
  let candidate: Candidate | null = null;
  try {
    for (let waiting = false; ; ) {
      let r: Awaited<ReturnType<Etcd3['kv']['txn']>>;
      try {
        // A standby's lease dies while etcd is out of reach for longer than the lease: it takes a
        // fresh one (the dead one's id would be refused by every transaction from then on).
        if (candidate?.lostWith != null) {
          candidate.lease.release();
          candidate = null;
        }
        candidate ??= await grantLease(etcd, ttlSeconds, options.signal);
        r = await untilStopped(
          etcd.kv.txn({
            compare: [{ key: Buffer.from(keys.lock), target: 'Create', result: 'Equal', create_revision: 0 }],
            success: [{ request_put: { key: Buffer.from(keys.lock), value: Buffer.from(id), lease: candidate.id } }],
            failure: [{ request_range: { key: Buffer.from(keys.lock) } }],
          }),
          options.signal,
        );
      } catch (e) {
        if (options.signal?.aborted === true) throw stopped(options.signal);
        if (e instanceof EtcdLeaseInvalidError && candidate !== null) candidate.lostWith = e;
        // etcd cannot be reached (refused, or no answer within the deadline): a standby rides it
        // out (it waits for the lock anyway); a runner that may not wait says so.
        const why = `cannot reach etcd for the sync lock in ${where}: ${reasonOf(e)}`;
        if (options.wait !== true) throw new AaeError('SYNC_LOCK_UNAVAILABLE', why, { cause: e });
        if (!waiting) options.onWait?.(`(etcd unreachable: ${reasonOf(e)})`);
        waiting = true;
        await sleep(RETRY_MS, options.signal);
        continue;
      }
      if (r.succeeded) break;
      const held = r.responses[0]?.response_range?.kvs[0];
      // Ours already: an earlier transaction ran out of its deadline but was applied. The key is on
      // this candidate's lease, kept alive by it, so waiting for it to go would wait for ever.
      if (held !== undefined && held.value.toString() === id && String(held.lease) === String(candidate.id)) break;
      const holder = held?.value.toString() ?? '(gone)';
      if (options.wait !== true) throw new AaeError('SYNC_BUSY', `another aae sync (${holder}) holds the lock in ${where}`, { details: { lock: keys.lock, holder } });
      if (!waiting) options.onWait?.(holder);
      waiting = true;
      await sleep(RETRY_MS, options.signal);
    }
  } catch (e) {
    // The lease holds no key: revoked (within a deadline), or on a stop left to expire by itself.
    if (options.signal?.aborted === true) candidate?.lease.release();
    else await candidate?.lease.revoke().catch(() => undefined);
    etcd.close();
    if (e instanceof AaeError) throw e;
    throw new AaeError('SYNC_LOCK_UNAVAILABLE', `cannot take the sync lock in ${where}: ${messageOf(e)}`, { cause: e });
  }
  const held = candidate!;
  const onLost = (e: Error): void => lost.abort(new AaeError('SYNC_LOCK_LOST', `the sync lock's etcd lease was lost (${e.message}): another runner may have taken over`, { cause: e }));
  held.lease.on('lost', onLost);
  if (held.lostWith !== null) onLost(held.lostWith);
  // etcd's client calls a lease lost only at twice its TTL without a renewal, but etcd itself
  // expires it at one TTL, when a standby may take over: so this runner stops itself first, once
  // two thirds of the TTL have passed without a renewal (keepalives go every third).
  // Counted from etcd's last renewal, not from now: a standby's keepalives may have stalled while it waited.
  const watchdog = setInterval(() => {
    const since = Date.now() - held.renewedAt;
    if (since <= (ttlSeconds * 1000 * 2) / 3 || lost.signal.aborted) return;
    lost.abort(
      new AaeError('SYNC_LOCK_LOST', `the sync lock's etcd lease was not renewed for ${(since / 1000).toFixed(1)} s of its ${ttlSeconds} s (etcd unreachable?): stopping before it expires and another runner takes over`, {
        details: { sinceRenewedMs: since, ttlSeconds },
      }),
    );
  }, WATCHDOG_MS);
  watchdog.unref();
  lost.signal.addEventListener('abort', () => clearInterval(watchdog), { once: true });
  return {
    where,
    lost: lost.signal,
    readStatus: () => readStatusAt(etcd, keys.state, who),
    async saveState(state: SyncState, lastCheck?: CheckReport, lastSuccessAt?: number) {
      let r;
      try {
        r = await etcd.kv.txn({
          compare: [{ key: Buffer.from(keys.lock), target: 'Value', result: 'Equal', value: Buffer.from(id) }],
          success: [{ request_put: { key: Buffer.from(keys.state), value: Buffer.from(encodeSyncState(who, state, lastCheck, lastSuccessAt)) } }],
          failure: [],
        });
      } catch (e) {
        throw new AaeError('SYNC_STATE_IO', `cannot write the sync state to ${where}: ${reasonOf(e)}`, { cause: e });
      }
      if (!r.succeeded) {
        const e = new AaeError('SYNC_LOCK_LOST', `this runner no longer holds the sync lock in ${where}: its state write was refused`);
        lost.abort(e);
        throw e;
      }
    },
    async release() {
      clearInterval(watchdog);
      // A holder that lost its lease does not wait on etcd to exit (a revoke through a stalled etcd
      // would hold it up by a deadline): etcd expires the lease by itself. Otherwise it is revoked,
      // within a deadline, so a standby takes over at once.
      if (lost.signal.aborted) held.lease.release();
      else await held.lease.revoke().catch(() => undefined);
      etcd.close();
    },
  };
}

async function readStatusAt(etcd: Etcd3, key: string, who: SyncIdentity, signal?: AbortSignal): Promise<SyncStatus> {
  let text: string | null;
  try {
    text = await untilStopped(etcd.get(key).string(), signal);
  } catch (e) {
    if (e instanceof AaeError) throw e;
    throw new AaeError('SYNC_STATE_IO', `cannot read the sync state from etcd (${key}): ${reasonOf(e)}`, { cause: e });
  }
  if (text === null) return noState(who);
  return parseSyncStatus(text, `etcd key ${key}`, who);
}

/** `aae sync --status --lock etcd://…`: the state and who holds the lock, without taking it. */
export async function etcdSyncStatus(who: SyncIdentity, options: Pick<EtcdLockOptions, 'endpoints' | 'prefix' | 'signal'>): Promise<{ status: SyncStatus; holder: string | null; where: string }> {
  const keys = keysOf(options.prefix ?? 'aae/sync/', who);
  const etcd = client(options.endpoints);
  try {
    const status = await readStatusAt(etcd, keys.state, who, options.signal);
    const holder = await untilStopped(etcd.get(keys.lock).string(), options.signal);
    return { status, holder, where: `etcd ${options.endpoints.join(',')}: ${keys.base}` };
  } catch (e) {
    if (e instanceof AaeError) throw e;
    throw new AaeError('SYNC_STATE_IO', `cannot read the sync lock from etcd: ${reasonOf(e)}`, { cause: e });
  } finally {
    etcd.close();
  }
}

/** Waits `ms`; a stop (the signal) ends the wait at once with ABORTED. */
async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return delay(ms);
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw stopped(signal);
  }
}

/**
 * An etcd request (or a wait) that a stop abandons at once with ABORTED. etcd3 cannot cancel a
 * request, so the abandoned one ends on the wire at its deadline; its outcome is ignored.
 */
function untilStopped<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return signal === undefined ? work : raceAbort(work, signal, stopped);
}

function stopped(signal: AbortSignal): AaeError {
  return new AaeError('ABORTED', 'stopped while waiting for etcd (the sync lock)', { cause: signal.reason });
}
