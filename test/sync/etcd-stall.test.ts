import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { ETCD_CALL_DEADLINE_MS, etcdCoordination, etcdSyncStatus } from '../../src/sync/etcd-coordination.js';
import { isAaeError, type AaeError } from '../../src/errors.js';
import { useEtcd } from '../support/redis.js';
import { waitFor } from '../connect/keystore-helpers.js';
import { stallProxy, type StallProxy } from './stall-proxy.js';
import type { SyncIdentity } from '../../src/sync/state-file.js';

/**
 * The etcd lock when etcd stalls (a network path that stops forwarding, a frozen etcd): the
 * connection stays open and nothing comes back, so only a deadline ends a call. Each test talks to
 * a real etcd through a proxy that can be told to stall.
 */

const etcd = useEtcd();
let c: Etcd3;
let proxy: StallProxy;
beforeAll(() => {
  c = new Etcd3({ hosts: etcd.server.endpoint });
});
afterAll(() => c.close());
afterEach(async () => {
  await proxy?.close();
});

const who = (n: string): SyncIdentity => ({ source: `dc${n}`, sink: 'dr1' });
const through = async () => {
  proxy = await stallProxy(etcd.server.endpoint);
  return { endpoints: [proxy.endpoint], prefix: 'stall/' };
};
/** How late past the deadline an answer may come on a busy test machine. */
const SLACK_MS = 1_500;

const timed = async <T>(p: Promise<T>): Promise<{ value: T; ms: number }> => {
  const t = Date.now();
  const value = await p;
  return { value, ms: Date.now() - t };
};

test('through a stalled etcd, a status read and a --once lock fail within the deadline; a stop ends a wait at once', async () => {
  const at = await through();
  expect((await etcdSyncStatus(who('1'), at)).holder).toBeNull();
  proxy.stall();
  const status = await timed(etcdSyncStatus(who('1'), at).catch((e: unknown) => e));
  expect(isAaeError(status.value, 'SYNC_STATE_IO'), String(status.value)).toBe(true);
  expect(status.ms).toBeLessThan(ETCD_CALL_DEADLINE_MS + SLACK_MS);
  const once = await timed(etcdCoordination(who('1'), { ...at, ttlSeconds: 2 }).catch((e: unknown) => e));
  expect(isAaeError(once.value, 'SYNC_LOCK_UNAVAILABLE'), String(once.value)).toBe(true);
  expect(once.ms).toBeLessThan(ETCD_CALL_DEADLINE_MS + SLACK_MS);
  // A standby stopped (SIGTERM) while its call hangs: it ends now, not at the deadline.
  const stop = AbortSignal.timeout(300);
  const stopped = await timed(etcdCoordination(who('1'), { ...at, ttlSeconds: 2, wait: true, signal: stop }).catch((e: unknown) => e));
  expect(isAaeError(stopped.value, 'ABORTED'), String(stopped.value)).toBe(true);
  expect(stopped.ms).toBeLessThan(300 + 500);
}, 30_000);

test('a standby waiting through a stall takes over once it ends and the dead holder’s lease has expired', async () => {
  const at = await through();
  // The holder: the lock key on a 2 s lease, kept alive directly (not through the proxy).
  const holder = c.lease(2);
  await holder.put('stall/dc2/dr1/lock').value('a runner about to be killed');
  const notes: string[] = [];
  const standby = etcdCoordination(who('2'), { ...at, ttlSeconds: 2, wait: true, onWait: (h) => notes.push(h) });
  await waitFor('the standby to wait', () => notes.length > 0);
  proxy.stall();
  // The holder is killed during the stall: its lease expires and etcd deletes the lock key. The
  // stall lasts past twice the standby's own lease, so its client gives that lease up too.
  holder.release();
  await new Promise((r) => setTimeout(r, 6_000));
  expect(await c.get('stall/dc2/dr1/lock').string()).toBeNull();
  proxy.resume();
  // It takes over within a deadline (a call caught in the stall) and a retry or two.
  const next = await timed(standby);
  expect(next.ms).toBeLessThan(2 * ETCD_CALL_DEADLINE_MS + 2_000 + SLACK_MS);
  try {
    expect(await c.get('stall/dc2/dr1/lock').string()).toMatch(/pid \d+/);
    // Its new lease is being renewed: it still holds the lock after more than its lease time.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(next.value.lost.aborted, String(next.value.lost.reason)).toBe(false);
    expect(await c.get('stall/dc2/dr1/lock').string()).toMatch(/pid \d+/);
    // It said that it was waiting once: the stall did not make it say so again.
    expect(notes).toEqual(['a runner about to be killed']);
  } finally {
    await next.value.release();
  }
  expect(await c.get('stall/dc2/dr1/lock').string()).toBeNull();
}, 45_000);

test('a holder whose etcd stalls stops (SYNC_LOCK_LOST) and lets go within its lease time and a deadline', async () => {
  const at = await through();
  const ttlSeconds = 3;
  const a = await etcdCoordination(who('3'), { ...at, ttlSeconds });
  const t = Date.now();
  proxy.stall();
  await waitFor('the lost signal', () => a.lost.aborted, 400);
  expect(isAaeError(a.lost.reason, 'SYNC_LOCK_LOST'), String(a.lost.reason)).toBe(true);
  expect((a.lost.reason as AaeError).message).toMatch(/not renewed/);
  // Releasing does not wait on the stalled etcd: the process can exit for its service manager.
  await a.release();
  expect(Date.now() - t).toBeLessThan(ttlSeconds * 1000 + ETCD_CALL_DEADLINE_MS);
}, 30_000);

test('a lock transaction that ran out of its deadline but was applied is the runner’s own: it takes the lock, not waits on itself for ever', async () => {
  const at = await through();
  // The first request naming the lock key (the lock transaction) reaches etcd; its answer, and
  // every answer for a while after, does not: the call times out, though the key is now ours.
  proxy.dropRepliesAfter(Buffer.from('stall/dc9/dr1/lock'), ETCD_CALL_DEADLINE_MS + 1_000);
  const notes: string[] = [];
  const { value: coord, ms } = await timed(etcdCoordination(who('9'), { ...at, ttlSeconds: 10, wait: true, onWait: (h) => notes.push(h) }));
  try {
    // A deadline, a retry or two, then the key found holding this runner's id on its own lease.
    expect(ms).toBeLessThan(3 * ETCD_CALL_DEADLINE_MS + 3 * SLACK_MS);
    const holder = await c.get('stall/dc9/dr1/lock').string();
    expect(holder).toMatch(/pid \d+/);
    expect(notes.every((n) => n.startsWith('(etcd unreachable'))).toBe(true);
    await coord.saveState({ previousSuccess: 1, range: null });
  } finally {
    await coord.release();
  }
  expect(await c.get('stall/dc9/dr1/lock').string()).toBeNull();
}, 60_000);
