import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { INITIAL_STATE } from '../../src/sync/checks.js';
import { etcdCoordination, etcdSyncStatus, parseLockUrl } from '../../src/sync/etcd-coordination.js';
import { isAaeError, type AaeError } from '../../src/errors.js';
import { startLocalEtcd } from '../../src/connect/etcd/local-etcd.js';
import { aae, withTempDir } from '../cli/helpers.js';
import { useEtcd } from '../support/redis.js';
import { waitFor } from '../connect/keystore-helpers.js';
import type { SyncIdentity } from '../../src/sync/state-file.js';

/**
 * One sync runner across machines, against a real etcd: exactly one holder of a pair's lock; a
 * standby takes over when the holder's lease dies (its keepalives stop, as when its process is
 * killed); the state lives in etcd, so the survivor reads what the last holder saved; and a holder
 * that lost its lease can never write the state again (fenced by the lock key's value).
 */

const etcd = useEtcd();
let c: Etcd3;
beforeAll(() => {
  c = new Etcd3({ hosts: etcd.server.endpoint });
});
afterAll(() => c.close());

const who = (n: string): SyncIdentity => ({ source: `dc${n}`, sink: 'dr1' });
const opts = (extra: object = {}) => ({ endpoints: [etcd.server.endpoint], prefix: 'test/sync/', ttlSeconds: 2, ...extra });

test('the lock URL: endpoints and prefix', () => {
  expect(parseLockUrl('etcd://a:2379,b:2379')).toEqual({ endpoints: ['http://a:2379', 'http://b:2379'], prefix: 'aae/sync/' });
  expect(parseLockUrl('etcds://a:1/x/y')).toEqual({ endpoints: ['https://a:1'], prefix: 'x/y/' });
  expect(parseLockUrl('redis://a:1')).toBeNull();
});

test("the lock URL: a host without a port is etcd's client port, 2379 (gRPC alone would dial 443)", () => {
  expect(parseLockUrl('etcd://127.0.0.1')).toEqual({ endpoints: ['http://127.0.0.1:2379'], prefix: 'aae/sync/' });
  expect(parseLockUrl('etcds://a,b:2380,[::1]/p/')).toEqual({ endpoints: ['https://a:2379', 'https://b:2380', 'https://[::1]:2379'], prefix: 'p/' });
  expect(parseLockUrl('etcd://[::1]:12379')?.endpoints).toEqual(['http://[::1]:12379']);
});

test('one holder; a second fails fast (SYNC_BUSY) or waits; the state passes to the next holder', async () => {
  const first = await etcdCoordination(who('1'), opts());
  const busy = await etcdCoordination(who('1'), opts()).catch((e: unknown) => e);
  expect(isAaeError(busy, 'SYNC_BUSY')).toBe(true);
  expect((busy as Error).message).toMatch(/pid \d+/);
  const saved = { ...INITIAL_STATE, previousSuccess: 1_700_000_000_000 };
  await first.saveState(saved);
  let waited = '';
  const second = etcdCoordination(who('1'), opts({ wait: true, onWait: (h: string) => (waited = h) }));
  await waitFor('the second runner to wait', () => waited !== '');
  expect(waited).toMatch(/pid/);
  await first.release();
  const next = await second;
  try {
    expect((await next.readStatus()).state).toEqual(saved);
    expect((await etcdSyncStatus(who('1'), opts())).holder).toMatch(/pid/);
  } finally {
    await next.release();
  }
  expect((await etcdSyncStatus(who('1'), opts())).holder).toBeNull();
});

test("a holder that dies (its lease's keepalives stop) is replaced within the lease time", async () => {
  // A "dead runner": the lock key on a 2 s lease whose keepalives are stopped.
  const dead = c.lease(2);
  await dead.put('test/sync/dc2/dr1/lock').value('a runner that was killed');
  dead.release();
  const standby = await etcdCoordination(who('2'), opts({ wait: true }));
  try {
    expect((await etcdSyncStatus(who('2'), opts())).holder).not.toBe('a runner that was killed');
  } finally {
    await standby.release();
  }
});

test('a holder whose lock was lost cannot write the state: SYNC_LOCK_LOST, and its signal fires', async () => {
  const a = await etcdCoordination(who('3'), opts());
  await a.saveState({ ...INITIAL_STATE, previousSuccess: 1 });
  // Its lease expired while it was cut off (the key is gone), and another runner took over.
  await c.delete().key('test/sync/dc3/dr1/lock');
  const b = await etcdCoordination(who('3'), opts());
  await b.saveState({ ...INITIAL_STATE, previousSuccess: 2 });
  const e = await a.saveState({ ...INITIAL_STATE, previousSuccess: 3 }).catch((x: unknown) => x);
  expect(isAaeError(e, 'SYNC_LOCK_LOST')).toBe(true);
  expect(a.lost.aborted).toBe(true);
  expect((await b.readStatus()).state.previousSuccess).toBe(2);
  await a.release();
  await b.release();
});

test('aae sync --lock etcd://: the check runs under the lease and its state is in etcd; --status reads it there', () =>
  withTempDir(async (tmp) => {
    const a = join(tmp, 'dc9');
    const b = join(tmp, 'dr9');
    expect((await aae('cluster', 'create', a, '--ring-size', '8', '--nodes', '1', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
    expect((await aae('cluster', 'create', b, '--ring-size', '8', '--nodes', '1', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
    const file = join(tmp, 'd.jsonl');
    await writeFile(file, JSON.stringify({ bucket: 'b', key: 'k', value: 'v' }));
    expect((await aae('load', a, file)).code).toBe(0);
    const lock = `${etcd.server.url}/cli/`;
    const run = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--lock', lock, '--json');
    expect(run.code, run.stderr).toBe(0);
    const saved = await c.get('cli/dc9/dr9/state').string();
    expect(JSON.parse(saved!)).toMatchObject({ source: 'dc9', sink: 'dr9', lastCheck: { outcome: 'repaired' } });
    const status = await aae('sync', a, b, '--status', '--lock', lock, '--json');
    expect(status.json<{ running: boolean; lastCheck: { outcome: string } }>()).toMatchObject({ running: false, lastCheck: { outcome: 'repaired' } });
    expect((await aae('sync', a, b, '--once', 'all', '--lock', lock, '--state', join(tmp, 's.json'))).code).toBe(2);
  }));

test('a holder cut off from etcd stops itself (SYNC_LOCK_LOST) before its lease can expire and a standby take over', async () => {
  // An etcd of its own, stopped under the holder.
  const own = await startLocalEtcd();
  const ttlSeconds = 3;
  const a = await etcdCoordination(who('7'), { endpoints: [own.endpoint], prefix: 'test/sync/', ttlSeconds });
  try {
    await own.stop();
    await waitFor('the lost signal', () => a.lost.aborted, 400);
    const reason = a.lost.reason as AaeError;
    expect(isAaeError(reason, 'SYNC_LOCK_LOST'), String(reason)).toBe(true);
    // It stopped on its own watch, after two thirds of the lease without a renewal, short of the whole.
    expect(reason.details?.['sinceRenewedMs']).toBeGreaterThan((ttlSeconds * 1000 * 2) / 3);
    expect(reason.details?.['sinceRenewedMs']).toBeLessThan(ttlSeconds * 1000);
  } finally {
    await a.release();
  }
}, 60_000);

test('etcd out of reach: a standby keeps waiting (until stopped); a run that may not wait fails SYNC_LOCK_UNAVAILABLE', async () => {
  const nowhere = { endpoints: ['http://127.0.0.1:1'], prefix: 'test/sync/', ttlSeconds: 2 };
  const once = await etcdCoordination(who('8'), nowhere).catch((e: unknown) => e);
  expect(isAaeError(once, 'SYNC_LOCK_UNAVAILABLE'), String(once)).toBe(true);
  expect((once as Error).message).not.toContain('Resolution note');
  const notes: string[] = [];
  const standby = await etcdCoordination(who('8'), { ...nowhere, wait: true, onWait: (h) => notes.push(h), signal: AbortSignal.timeout(3_000) }).catch((e: unknown) => e);
  // It was still waiting when told to stop, having said why once.
  expect(isAaeError(standby, 'SYNC_LOCK_UNAVAILABLE'), String(standby)).toBe(false);
  expect(notes).toHaveLength(1);
  expect(notes[0]).toMatch(/etcd unreachable/);
}, 60_000);
