import { versionHashOf } from '../support/versions.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { repairClusters } from '../../src/aae/index.js';
import { defaultSpec, makeClock } from '../../src/cluster/index.js';
import { isAaeError } from '../../src/errors.js';
import { resolveVersions } from '../../src/repair/index.js';
import type { EmbeddedCluster } from '../../src/coordinator/index.js';
import { openPair, readValue, withOne } from '../sync/pair.js';
import {
  abortableSleep,
  resolveCheck,
  runCheck,
  runSyncLoop,
  type CheckReport,
  type OpenPair,
  type ResolvedCheck,
  type ScheduleWants,
  type SyncState,
} from '../../src/sync/index.js';
import { aae } from '../cli/helpers.js';
import { createCluster, openCluster } from '../support/clusters.js';

/**
 * Defects a review of `aae sync` and of the two-cluster repair over every replica found, one test
 * each, kept as regressions: a sink policy lost to a version both sides hold, a failed check that
 * forgot the watermark, a span check that moved it past unchecked writes, waits past setTimeout's
 * limit, a schedule of only quiet slices, a late slice that dropped a span, a host that slept
 * through its slice, `--conflict report` unexplained, and a report lost to a state save failure.
 */

const NOW = Date.UTC(2026, 10, 22, 12, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const fast = { pauseMs: 0, jitter: false } as const;
const enc = (s: string) => new TextEncoder().encode(s);
const wants = (w: Partial<ScheduleWants>): ScheduleWants => ({ all: 0, day: 0, hour: 0, range: 0, auto: 0, none: 0, ...w });

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'review-sync-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function makePair(): Promise<void> {
  const spec = (name: string, ringSize: number, nVal: number) => defaultSpec(name, { ringSize, nVal, nodeCount: 2, treeSize: 'small' });
  const dc1 = await createCluster(join(dir, 'dc1'), spec('dc1', 16, 2));
  const dr1 = await createCluster(join(dir, 'dr1'), spec('dr1', 8, 1));
  const items = Array.from({ length: 50 }, (_, i) => ({ bucket: 'b', key: `old-${i}`, value: 'v', clock: makeClock([['src', 1]], NOW - 3 * DAY + i) }));
  await dc1.putMany(items);
  await dr1.putMany(items);
  await dc1.close();
  await dr1.close();
}

const open = (): Promise<OpenPair> => openPair(dir);
const read = (cluster: 'dc1' | 'dr1', key: string): Promise<string | null> => readValue(dir, cluster, key);

async function write(cluster: 'dc1' | 'dr1', key: string, lastModified: number): Promise<void> {
  await withOne(dir, cluster, async (c) => {
    await c.put({ bucket: 'b', key, value: `${cluster}-${key}`, clock: makeClock([[cluster, 1]], lastModified) });
  });
}

describe('repair between clusters: --conflict sink when the source replicas are concurrent', () => {
  const A = { clock: makeClock([['x', 1]], 3000), deleted: false, hash: versionHashOf([['x', 1]], false) }; // only on one source replica, later
  const B = { clock: makeClock([['y', 1]], 2000), deleted: false, hash: versionHashOf([['y', 1]], false) }; // on the other source replica AND on the sink

  test('resolveVersions: under sink, a version the sink holds wins even when a source replica holds it too', () => {
    // Places: source replica 0, source replica 1, sink replica 0 (preferred).
    const r = resolveVersions([A, B, B], 'sink', [2]);
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    // The winner must be version B (what the sink holds), wherever it is listed.
    expect(r.winner === 1 || r.winner === 2).toBe(true);
  });

  test('repairClusters with policy sink does not overwrite the sink with a source-only version', async () => {
    const blue = await createCluster(join(dir, 'blue'), defaultSpec('blue', { ringSize: 8, nVal: 2, nodeCount: 2, treeSize: 'small' }));
    const pink = await createCluster(join(dir, 'pink'), defaultSpec('pink', { ringSize: 8, nVal: 1, nodeCount: 1, treeSize: 'small' }));
    try {
      const b = { bucket: 'b', key: 'k', value: 'B-on-sink', clock: B.clock };
      await blue.put(b);
      await pink.put(b);
      // A concurrent version lands on one source replica only.
      await blue.put({ bucket: 'b', key: 'k', value: 'A-source-only', clock: A.clock, replicas: 1 });
      // Offset 1 reads the replica holding A, so the exchange finds the key.
      const r = await repairClusters(blue, pink, { ...fast, policy: 'sink', sourceOffset: 1, rangeReplication: false });
      expect(r.firstDifferences).toHaveLength(1);
      expect(r.inSync).toBe(true);
      const o = await pink.get('b', 'k');
      expect(Buffer.from(o!.value).toString()).toBe('B-on-sink');
    } finally {
      await blue.close();
      await pink.close();
    }
  });
});

describe('sync state: what a range check starts from', () => {
  test('a check that finds a cluster locked keeps the previous success (a range-only schedule must not go idle)', async () => {
    await makePair();
    const before: SyncState = { previousSuccess: NOW - HOUR, range: null };
    const holder = await openCluster(join(dir, 'dr1'));
    let r: CheckReport;
    try {
      r = await runCheck(resolveCheck('range', before, NOW, 'always'), before, { open, repair: fast, now: () => NOW });
    } finally {
      await holder.close();
    }
    expect(r.outcome).toBe('failed');
    expect(r.error?.code).toBe('STORE_LOCKED');
    // Nothing was found and nothing changed what the earlier success verified.
    expect(r.state.previousSuccess).toBe(NOW - HOUR);
    expect(resolveCheck('range', r.state, NOW + HOUR, 'always').run).toBe(true);
  });

  test('a range check over a left span that ends in sync does not skip writes made since the last full success', async () => {
    await makePair();
    const T0 = NOW;
    const first = await runCheck(resolveCheck('all', { previousSuccess: null, range: null }, T0, 'always'), { previousSuccess: null, range: null }, { open, repair: fast, now: () => T0 });
    expect(first.outcome).toBe('in_sync');

    // An old object missing on the sink; the check at T1 cannot finish (loop limit) and leaves its span.
    await write('dc1', 'ancient', NOW - 30 * DAY);
    const T1 = T0 + HOUR;
    const cut = await runCheck(resolveCheck('all', first.state, T1, 'always'), first.state, { open, repair: { ...fast, maxLoops: 0 }, now: () => T1 });
    expect(cut.outcome).toBe('differences_left');
    expect(cut.state.range).not.toBeNull();

    // Replication drops a fresh write after T1.
    await write('dc1', 'dropped', T1 + 10 * 60_000);

    // T2: the range check over the span repairs 'ancient' and ends in sync.
    const T2 = T1 + HOUR;
    const span = await runCheck(resolveCheck('range', cut.state, T2, 'always'), cut.state, { open, repair: fast, now: () => T2 });
    expect(span.outcome).toBe('repaired');

    // T3: the next range check must still cover 'dropped' (modified after the last full success T0).
    const T3 = T2 + HOUR;
    const next = await runCheck(resolveCheck('range', span.state, T3, 'always'), span.state, { open, repair: fast, now: () => T3 });
    expect(next.kind).toBe('range');
    expect(await read('dr1', 'dropped')).toBe('dc1-dropped');
  });
});

/** A simulated clock and a check that records what ran (no clusters). */
function simulated(start: number) {
  let now = start;
  const ran: ResolvedCheck[] = [];
  const skipped = (c: ResolvedCheck, state: SyncState): CheckReport => ({
    item: c.item, why: c.why, startedAt: now, durationMs: 0, outcome: 'skipped', differences: 0, repaired: { keys: 0, writes: 0, conflicts: 0 }, loops: 0, state,
  });
  return {
    ran,
    now: () => now,
    advance: (ms: number) => void (now += ms),
    skipped,
  };
}

describe('the sync loop', () => {
  test('a wait longer than setTimeout can hold (2^31-1 ms, about 24.8 days) is not cut short', async () => {
    const ac = new AbortController();
    const waited = abortableSleep(2 ** 31 + 1_000, ac.signal).then(
      () => 'resolved',
      () => 'aborted',
    );
    const early = await Promise.race([waited, new Promise((r) => setTimeout(() => r('still waiting'), 200))]);
    ac.abort();
    await waited;
    expect(early).toBe('still waiting');
  });

  test('--period 30d: the loop does not run its check before the slice', async () => {
    const period = 30 * DAY;
    // Just past a slice boundary (the grid is anchored at the epoch for a period that does not
    // divide a day): the first check is ~30 days away.
    const start = Math.ceil(NOW / period) * period + 1;
    let ran = 0;
    const signal = AbortSignal.timeout(300);
    const loop = runSyncLoop({
      open: () => Promise.reject(new Error('no clusters here')),
      wants: wants({ all: 1 }),
      periodMs: period,
      state: { previousSuccess: null, range: null },
      now: () => start,
      signal,
      check: async (c, state) => {
        ran++;
        return { item: c.item, why: '', startedAt: start, durationMs: 0, outcome: 'in_sync', differences: 0, repaired: { keys: 0, writes: 0, conflicts: 0 }, loops: 0, state };
      },
      maxChecks: 1,
    });
    await expect(loop).rejects.toSatisfy((e) => isAaeError(e, 'ABORTED'));
    expect(ran).toBe(0);
  });

  test('a schedule with no check that can run (only none slices) is refused instead of looping forever', async () => {
    const sim = simulated(NOW);
    let sleeps = 0;
    const ac = new AbortController();
    const loop = runSyncLoop({
      open: () => Promise.reject(new Error('no clusters here')),
      wants: wants({ none: 3 }),
      periodMs: HOUR,
      state: { previousSuccess: null, range: null },
      now: sim.now,
      sleep: async (ms) => {
        sim.advance(ms);
        if (++sleeps > 30) ac.abort();
      },
      signal: ac.signal,
      maxChecks: 1,
      check: async (c, state) => sim.skipped(c, state),
    });
    await expect(loop).rejects.toSatisfy((e) => isAaeError(e, 'INVALID_ARGUMENT'));
  });

  test('a late slice does not drop the span the last check left (the day check cannot cover a span older than a day)', async () => {
    const sim = simulated(NOW);
    const span = { bucket: 'b', from: NOW - 40 * DAY, to: NOW - 40 * DAY + 2_000 };
    const seen: ResolvedCheck[] = [];
    let n = 0;
    await runSyncLoop({
      open: () => Promise.reject(new Error('no clusters here')),
      wants: wants({ auto: 4 }),
      periodMs: 4 * HOUR,
      state: { previousSuccess: null, range: null },
      now: sim.now,
      sleep: async (ms) => sim.advance(ms),
      random: () => 0,
      maxChecks: 2,
      check: async (c, state) => {
        seen.push(c);
        const startedAt = sim.now();
        n++;
        if (n === 1) {
          // The first check runs 90 minutes and leaves an old span: the next slice is late.
          sim.advance(90 * 60_000);
          return { item: c.item, why: '', startedAt, durationMs: 0, outcome: 'differences_left', differences: 1, repaired: { keys: 0, writes: 0, conflicts: 0 }, loops: 20, state: { previousSuccess: null, range: span } };
        }
        return { item: c.item, why: '', startedAt, durationMs: 0, outcome: 'in_sync', differences: 0, repaired: { keys: 0, writes: 0, conflicts: 0 }, loops: 0, state: { previousSuccess: startedAt, range: null } };
      },
    });
    expect(seen).toHaveLength(2);
    // The check after the late slice still looks at the span.
    expect(seen[1]).toMatchObject({ run: true, kind: 'range', scope: { modifiedRange: { from: span.from, to: span.to } } });
  });

  test('a slice whose wait overran (the host slept) is skipped as late, not run hours late', async () => {
    const sim = simulated(NOW);
    const ranAt: number[] = [];
    const reports: CheckReport[] = [];
    await runSyncLoop({
      open: () => Promise.reject(new Error('no clusters here')),
      wants: wants({ all: 4 }),
      periodMs: 4 * HOUR,
      state: { previousSuccess: null, range: null },
      now: sim.now,
      // The first wait oversleeps by three hours (a suspended host); later waits are exact.
      sleep: async (ms) => sim.advance(ranAt.length === 0 && reports.length === 0 ? ms + 3 * HOUR : ms),
      random: () => 0,
      maxChecks: 1,
      onCheck: (r) => void reports.push(r),
      check: async (c, state) => {
        ranAt.push(sim.now());
        return { item: c.item, why: '', startedAt: sim.now(), durationMs: 0, outcome: 'in_sync', differences: 0, repaired: { keys: 0, writes: 0, conflicts: 0 }, loops: 0, state };
      },
    });
    expect(reports[0]).toMatchObject({ outcome: 'skipped' });
    expect(reports[0]!.why).toMatch(/^late/);
  });
});

describe('aae sync (CLI)', () => {
  async function conflictPair(): Promise<[string, string]> {
    const a = join(dir, 'p');
    const b = join(dir, 'q');
    expect((await aae('cluster', 'create', a, '--ring-size', '8', '--nodes', '1', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
    expect((await aae('cluster', 'create', b, '--ring-size', '8', '--nodes', '1', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
    await writeFile(join(dir, 'p.jsonl'), '{"bucket":"b","key":"c","value":"P","clock":[["p",1]],"lastModified":5000}\n');
    await writeFile(join(dir, 'q.jsonl'), '{"bucket":"b","key":"c","value":"Q","clock":[["q",1]],"lastModified":6000}\n');
    expect((await aae('load', a, join(dir, 'p.jsonl'))).code).toBe(0);
    expect((await aae('load', b, join(dir, 'q.jsonl'))).code).toBe(0);
    return [a, b];
  }

  test('--conflict report: the report says the differences left are conflicts reported, not a loop limit', async () => {
    const [a, b] = await conflictPair();
    const r = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--conflict', 'report', '--json', '--conflict-log', join(dir, 'c.jsonl'));
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout.trim()) as { repaired: Record<string, number> } & Record<string, unknown>;
    const reported = report.reported ?? report.repaired.reported;
    expect(reported).toBe(1);
    const text = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--conflict', 'report', '--conflict-log', join(dir, 'c.jsonl'));
    expect(text.stdout).toMatch(/conflict/i);
  });

  test('a check whose state cannot be saved still reports what it did to the clusters', async () => {
    const [a, b] = await conflictPair();
    // A name the state can be looked up by (absent: a fresh sync) but not written beside: the
    // temp file's longer name passes the file system's 255-byte limit.
    const state = join(dir, `${'s'.repeat(240)}.json`);
    const r = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--json', '--state', state, '--conflict-log', join(dir, 'c.jsonl'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('SYNC_STATE_IO');
    // The check ran and wrote to both clusters: its report must not be lost.
    expect(r.stdout.trim()).not.toBe('');
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ outcome: 'repaired' });
  });
});
