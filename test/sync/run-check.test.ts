import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { defaultSpec, makeClock } from '../../src/cluster/index.js';
import { AaeError, isAaeError } from '../../src/errors.js';
import type { EmbeddedCluster } from '../../src/coordinator/index.js';
import { openPair, readValue, withOne } from './pair.js';
import { INITIAL_STATE, resolveCheck, runCheck, type OpenPair, type SyncState } from '../../src/sync/index.js';
import { createCluster, openCluster } from '../support/clusters.js';

/**
 * Checks against real embedded clusters: each kind finds the drift inside its scope and repairs
 * it, and only that; what a check leaves is what the next one starts from.
 */
const NOW = Date.UTC(2026, 10, 22, 12, 0);
const HOUR = 3_600_000;
const fast = { pauseMs: 0, jitter: false } as const;

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-sync-'));
  const spec = (name: string, ringSize: number, nVal: number) => defaultSpec(name, { ringSize, nVal, nodeCount: 2, treeSize: 'small' });
  const dc1 = await createCluster(join(dir, 'dc1'), spec('dc1', 16, 2));
  const dr1 = await createCluster(join(dir, 'dr1'), spec('dr1', 8, 1));
  const items = Array.from({ length: 300 }, (_, i) => ({ bucket: 'b', key: `old-${i}`, value: 'v', clock: makeClock([['src', 1]], NOW - 3 * 24 * HOUR + i) }));
  await dc1.putMany(items);
  await dr1.putMany(items);
  await dc1.close();
  await dr1.close();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (): Promise<OpenPair> => openPair(dir);
const read = (cluster: 'dc1' | 'dr1', key: string): Promise<string | null> => readValue(dir, cluster, key);

async function write(cluster: 'dc1' | 'dr1', key: string, lastModified: number, counter = 1): Promise<void> {
  await withOne(dir, cluster, async (c) => {
    await c.put({ bucket: 'b', key, value: `${cluster}-${counter}`, clock: makeClock([['src', counter]], lastModified) });
  });
}

const check = (item: Parameters<typeof resolveCheck>[0], state: SyncState, now = NOW) =>
  runCheck(resolveCheck(item, state, now, 'always'), state, { open, repair: fast, now: () => now });

describe('sync checks over real clusters', () => {
  test('an hour check repairs fresh drift and misses old drift; an all check then finds the old drift', async () => {
    await write('dc1', 'fresh', NOW - 10 * 60_000);
    await write('dc1', 'stale', NOW - 2 * 24 * HOUR);

    const hour = await check('hour', INITIAL_STATE);
    expect(hour).toMatchObject({ kind: 'hour', outcome: 'repaired', differences: 1, repaired: { keys: 1 } });
    expect(await read('dr1', 'fresh')).toBe('dc1-1');
    expect(await read('dr1', 'stale')).toBeNull();
    // It ended in sync over the last hour only: older objects were not looked at, so there is
    // still no watermark for a range check to start from.
    expect(hour.state).toEqual({ previousSuccess: null, range: null });

    const all = await check('all', hour.state);
    expect(all).toMatchObject({ kind: 'all', outcome: 'repaired', differences: 1 });
    expect(await read('dr1', 'stale')).toBe('dc1-1');

    // A full check in sync is the watermark.
    expect(all.state).toEqual({ previousSuccess: NOW, range: null });
    const again = await check('all', all.state);
    expect(again).toMatchObject({ outcome: 'in_sync', differences: 0, loops: 0 });
  });

  test('a range check after a success looks at what changed since, in both directions', async () => {
    const first = await check('all', INITIAL_STATE);
    expect(first.outcome).toBe('in_sync');
    const later = NOW + 2 * HOUR;
    await write('dc1', 'since-on-source', NOW + HOUR);
    await write('dr1', 'old-7', NOW + HOUR, 2);
    const range = await check('range', first.state, later);
    expect(range).toMatchObject({ kind: 'range', outcome: 'repaired', differences: 2, modifiedRange: { from: NOW, to: later + 5_000 } });
    expect(await read('dr1', 'since-on-source')).toBe('dc1-1');
    expect(await read('dc1', 'old-7')).toBe('dr1-2');
  });

  test('a check that cannot finish leaves the span it found, and the next range check looks there', async () => {
    for (let i = 0; i < 3; i++) await write('dc1', `burst-${i}`, NOW - 5 * HOUR + i * 300);
    // One repair loop allowed, and one key a round: the check ends with differences left.
    const r = await runCheck(resolveCheck('all', INITIAL_STATE, NOW, 'always'), INITIAL_STATE, {
      open,
      repair: { ...fast, maxLoops: 1, maxResults: 1, rangeReplication: false },
      now: () => NOW,
    });
    expect(r.outcome).toBe('differences_left');
    expect(r.state.previousSuccess).toBeNull();
    expect(r.state.range).not.toBeNull();
    const next = resolveCheck('auto', r.state, NOW, 'always');
    expect(next).toMatchObject({ run: true, kind: 'range', scope: { bucket: 'b' } });
    const range = await runCheck(next, r.state, { open, repair: fast, now: () => NOW });
    expect(range.outcome).toBe('repaired');
    for (let i = 0; i < 3; i++) expect(await read('dr1', `burst-${i}`)).toBe('dc1-1');
  });

  test('a locked cluster fails the check without throwing and leaves the state as it was; input errors and aborts throw', async () => {
    const holder = await openCluster(join(dir, 'dr1'));
    try {
      const state: SyncState = { previousSuccess: NOW - HOUR, range: { from: 1, to: 2 } };
      const r = await runCheck(resolveCheck('all', state, NOW, 'always'), state, { open, repair: fast });
      expect(r.outcome).toBe('failed');
      expect(r.error?.code).toBe('STORE_LOCKED');
      expect(r.state).toEqual(state);
    } finally {
      await holder.close();
    }
    const bad = () => Promise.reject(new AaeError('CLUSTERS_INCOMPATIBLE', 'different seeds'));
    await expect(runCheck(resolveCheck('all', INITIAL_STATE, NOW, 'always'), INITIAL_STATE, { open: bad })).rejects.toSatisfy((e) => isAaeError(e, 'CLUSTERS_INCOMPATIBLE'));
    const ac = new AbortController();
    ac.abort();
    await expect(runCheck(resolveCheck('all', INITIAL_STATE, NOW, 'always'), INITIAL_STATE, { open, signal: ac.signal })).rejects.toSatisfy((e) => isAaeError(e, 'ABORTED'));
    // Every cluster was closed again: both open cleanly.
    expect((await check('all', INITIAL_STATE)).outcome).toBe('in_sync');
  });
});
