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
 */
import { setTimeout as delay } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Etcd3, type Lease } from 'etcd3';
import { AaeError, messageOf } from '../errors.js';
import type { SyncState } from './checks.js';
import type { SyncCoordination } from './coordination.js';
import type { CheckReport } from './run-check.js';
import { INITIAL_STATE } from './checks.js';
import { copiesOf, encodeSyncState, parseSyncStatus, type SyncIdentity, type SyncStatus } from './state-file.js';

export const DEFAULT_LOCK_TTL_SECONDS = 10;
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

function client(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({ hosts: [...endpoints], dialTimeout: 5_000 });
}

export async function etcdCoordination(who: SyncIdentity, options: EtcdLockOptions): Promise<SyncCoordination> {
  const keys = keysOf(options.prefix ?? 'aae/sync/', who);
  const where = `etcd ${options.endpoints.join(',')}: ${keys.base}`;
  const etcd = client(options.endpoints);
  const id = `${hostname()} pid ${process.pid}, ${randomBytes(6).toString('hex')}`;
  const lost = new AbortController();
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_LOCK_TTL_SECONDS;
  let lease: Lease | null = null;
  let leaseId = '';
  try {
    for (let waiting = false; ; ) {
      let r: Awaited<ReturnType<Etcd3['kv']['txn']>>;
      try {
        if (lease === null) {
          const fresh = etcd.lease(ttlSeconds);
          fresh.on('lost', (e) => lost.abort(new AaeError('SYNC_LOCK_LOST', `the sync lock's etcd lease was lost (${e.message}): another runner may have taken over`, { cause: e })));
          leaseId = await fresh.grant().catch(async (e: unknown) => {
            await fresh.revoke().catch(() => undefined);
            throw e;
          });
          lease = fresh;
        }
        r = await etcd.kv.txn({
          compare: [{ key: Buffer.from(keys.lock), target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: Buffer.from(keys.lock), value: Buffer.from(id), lease: leaseId } }],
          failure: [{ request_range: { key: Buffer.from(keys.lock) } }],
        });
      } catch (e) {
        // etcd cannot be reached: a standby rides it out (it waits for the lock anyway); a
        // runner that may not wait says so.
        const why = `cannot reach etcd for the sync lock in ${where}: ${messageOf(e)}`;
        if (options.wait !== true || options.signal?.aborted === true) throw new AaeError('SYNC_LOCK_UNAVAILABLE', why, { cause: e });
        if (!waiting) options.onWait?.(`(etcd unreachable: ${messageOf(e)})`);
        waiting = true;
        await sleep(RETRY_MS, options.signal);
        continue;
      }
      if (r.succeeded) break;
      const holder = r.responses[0]?.response_range?.kvs[0]?.value.toString() ?? '(gone)';
      if (options.wait !== true) throw new AaeError('SYNC_BUSY', `another aae sync (${holder}) holds the lock in ${where}`, { details: { lock: keys.lock, holder } });
      if (!waiting) options.onWait?.(holder);
      waiting = true;
      await sleep(RETRY_MS, options.signal);
    }
  } catch (e) {
    await lease?.revoke().catch(() => undefined);
    etcd.close();
    if (e instanceof AaeError) throw e;
    throw new AaeError('SYNC_LOCK_UNAVAILABLE', `cannot take the sync lock in ${where}: ${messageOf(e)}`, { cause: e });
  }
  // etcd's client calls a lease lost only at twice its TTL without a renewal, but etcd itself
  // expires it at one TTL, when a standby may take over: so this runner stops itself first, once
  // two thirds of the TTL have passed without a renewal (keepalives go every third).
  let renewedAt = Date.now();
  lease!.on('keepaliveSucceeded', () => (renewedAt = Date.now()));
  const watchdog = setInterval(() => {
    const since = Date.now() - renewedAt;
    if (since <= (ttlSeconds * 1000 * 2) / 3 || lost.signal.aborted) return;
    lost.abort(
      new AaeError('SYNC_LOCK_LOST', `the sync lock's etcd lease was not renewed for ${(since / 1000).toFixed(1)} s of its ${ttlSeconds} s (etcd unreachable?): stopping before it expires and another runner takes over`, {
        details: { sinceRenewedMs: since, ttlSeconds },
      }),
    );
  }, WATCHDOG_MS);
  watchdog.unref();
  lost.signal.addEventListener('abort', () => clearInterval(watchdog), { once: true });
  const held = lease!;
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
        throw new AaeError('SYNC_STATE_IO', `cannot write the sync state to ${where}: ${messageOf(e)}`, { cause: e });
      }
      if (!r.succeeded) {
        const e = new AaeError('SYNC_LOCK_LOST', `this runner no longer holds the sync lock in ${where}: its state write was refused`);
        lost.abort(e);
        throw e;
      }
    },
    async release() {
      clearInterval(watchdog);
      await held.revoke().catch(() => undefined);
      etcd.close();
    },
  };
}

async function readStatusAt(etcd: Etcd3, key: string, who: SyncIdentity): Promise<SyncStatus> {
  let text: string | null;
  try {
    text = await etcd.get(key).string();
  } catch (e) {
    throw new AaeError('SYNC_STATE_IO', `cannot read the sync state from etcd (${key}): ${messageOf(e)}`, { cause: e });
  }
  if (text === null) return { exists: false, otherCopies: false, state: { ...INITIAL_STATE }, lastCheck: undefined, lastSuccessAt: undefined, copies: copiesOf(who) };
  return parseSyncStatus(text, `etcd key ${key}`, who);
}

/** `aae sync --status --lock etcd://…`: the state and who holds the lock, without taking it. */
export async function etcdSyncStatus(who: SyncIdentity, options: Pick<EtcdLockOptions, 'endpoints' | 'prefix'>): Promise<{ status: SyncStatus; holder: string | null; where: string }> {
  const keys = keysOf(options.prefix ?? 'aae/sync/', who);
  const etcd = client(options.endpoints);
  try {
    const status = await readStatusAt(etcd, keys.state, who);
    const holder = await etcd.get(keys.lock).string();
    return { status, holder, where: `etcd ${options.endpoints.join(',')}: ${keys.base}` };
  } catch (e) {
    if (e instanceof AaeError) throw e;
    throw new AaeError('SYNC_STATE_IO', `cannot read the sync lock from etcd: ${(e as Error).message}`, { cause: e });
  } finally {
    etcd.close();
  }
}

/** Waits `ms`; a stop (the signal) ends the wait at once with ABORTED. */
async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (e) {
    throw new AaeError('ABORTED', 'stopped while waiting for the sync lock', { cause: signal?.reason ?? e });
  }
}
