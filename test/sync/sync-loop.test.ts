import fc from 'fast-check';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import {
  DAY_MS,
  INITIAL_STATE,
  abortableSleep,
  defaultStatePath,
  loadSyncState,
  runSyncLoop,
  saveSyncState,
  type CheckReport,
  type ResolvedCheck,
  type ScheduledCheck,
  type ScheduleWants,
  type SyncState,
} from '../../src/sync/index.js';

/**
 * The loop's mechanics on a simulated clock, with the check itself injected: what a check does
 * to real clusters is run-check.test.ts's.
 */
function simulated(start: number) {
  let now = start;
  const ran: Array<{ at: number; check: ResolvedCheck }> = [];
  return {
    ran,
    now: () => now,
    advance: (ms: number) => void (now += ms),
    sleep: async (ms: number) => {
      now += ms;
    },
    /** A check that takes `takes(n)` ms and ends in sync (the real one's contract, minus clusters). */
    check: (takes: (n: number) => number = () => 0) =>
      async (c: ResolvedCheck, state: SyncState): Promise<CheckReport> => {
        const startedAt = now;
        if (!c.run) return { item: c.item, why: c.why, startedAt, durationMs: 0, outcome: 'skipped', differences: 0, repaired: { keys: 0, writes: 0, conflicts: 0 }, loops: 0, state };
        ran.push({ at: now, check: c });
        now += takes(ran.length);
        return { item: c.item, kind: c.kind, why: c.why, startedAt, durationMs: now - startedAt, outcome: 'in_sync', differences: 0, repaired: { keys: 0, writes: 0, conflicts: 0 }, loops: 1, state: { previousSuccess: startedAt, range: null } };
      },
  };
}

const wants = (w: Partial<ScheduleWants>): ScheduleWants => ({ all: 0, day: 0, hour: 0, range: 0, auto: 0, none: 0, ...w });
const noop = async () => {
  throw new Error('the injected check never opens clusters');
};

describe('runSyncLoop', () => {
  test('over several periods it runs each period exactly the checks asked for, one a slice, at its slot', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ all: fc.nat(3), none: fc.nat(3), hour: fc.nat(3) }).filter((w) => w.all + w.hour > 0), fc.integer({ min: 0, max: 2 ** 41 }), async (w, start) => {
        const sim = simulated(start);
        const seen: Array<{ slot: ScheduledCheck; report: CheckReport }> = [];
        const periods = 3;
        const runs = (w.all + w.hour) * periods;
        const result = await runSyncLoop({
          wants: wants(w),
          state: INITIAL_STATE,
          open: noop,
          now: sim.now,
          sleep: sim.sleep,
          maxChecks: runs,
          check: sim.check(),
          onCheck: (report, slot) => void seen.push({ slot, report }),
        });
        expect(result.checks).toBe(runs);
        expect(seen[0]!.slot.at).toBeGreaterThan(start);
        // Every check ran at its slot's time; slots come in order, each period's slices 1..n once.
        expect(sim.ran.map((r) => r.at)).toEqual(seen.filter((s) => s.slot.item !== 'none').map((s) => s.slot.at));
        const perSlice = w.all + w.none + w.hour;
        seen.forEach((s, i) => {
          expect(s.slot.slice).toBe((i % perSlice) + 1);
          if (i > 0) expect(s.slot.at).toBeGreaterThan(seen[i - 1]!.slot.at);
          // A period later, give or take the slot's jitter (at most a minute).
          if (i >= perSlice) expect(Math.abs(s.slot.at - seen[i - perSlice]!.slot.at - DAY_MS)).toBeLessThanOrEqual(60_000);
        });
        for (const item of ['all', 'hour'] as const) expect(seen.filter((s) => s.slot.item === item)).toHaveLength(w[item] * periods);
        expect(result.state.previousSuccess).toBe(sim.ran.at(-1)!.at);
      }),
      { numRuns: 25 },
    );
  });

  /** A check that fails after `ms`, leaving the span {5, 6}, as a locked store would. */
  const failing = (sim: ReturnType<typeof simulated>, ms: number) =>
    async (c: ResolvedCheck): Promise<CheckReport> => {
      const startedAt = sim.now();
      sim.advance(ms);
      const none = { keys: 0, writes: 0, conflicts: 0 };
      return { item: c.item, why: c.why, startedAt, durationMs: ms, outcome: 'failed', differences: 0, repaired: none, loops: 0, state: { previousSuccess: null, range: { from: 5, to: 6 } }, error: { code: 'STORE_LOCKED', message: 'held' } };
    };

  /** auto=4 a day from 00:30 (slices at 06:00, 12:00, 18:00, 00:00): the first check fails after `ms`, the rest end in sync. */
  async function failFirst(ms: number): Promise<{ sim: ReturnType<typeof simulated>; reports: CheckReport[] }> {
    const sim = simulated(Date.UTC(2026, 10, 22, 0, 30));
    const reports: CheckReport[] = [];
    const inSync = sim.check();
    let n = 0;
    await runSyncLoop({
      wants: wants({ auto: 4 }),
      state: INITIAL_STATE,
      open: noop,
      now: sim.now,
      sleep: sim.sleep,
      random: () => 0,
      maxChecks: 2,
      check: (c, state) => (n++ === 0 ? failing(sim, ms)(c) : inSync(c, state)),
      onCheck: (r) => void reports.push(r),
    });
    return { sim, reports };
  }

  test('a check that runs past the next slice makes it late: skipped and reported; the span it left is kept', async () => {
    // The first check (06:00) fails after 7 hours, past 12:00.
    const { sim, reports } = await failFirst(7 * 3_600_000);
    expect(reports.map((r) => r.outcome)).toEqual(['failed', 'skipped', 'in_sync']);
    expect(reports[1]!.why).toMatch(/^late/);
    expect(reports[1]!.state.range).toEqual({ from: 5, to: 6 });
    // The failed check changed nothing; the late slice neither: auto at 18:00 looks at the span.
    expect(sim.ran.map((r) => [new Date(r.at).toISOString(), r.check.run && r.check.kind])).toEqual([['2026-11-22T18:00:00.000Z', 'range']]);
  });

  test('the span a failed check left is where the next auto check looks', async () => {
    const { sim } = await failFirst(1_000);
    expect(sim.ran[0]!.check).toMatchObject({ kind: 'range', scope: { modifiedRange: { from: 5, to: 6 } } });
  });

  test('stops with ABORTED while waiting, at once', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const err = await runSyncLoop({ wants: wants({ all: 1 }), state: INITIAL_STATE, open: noop, signal: ac.signal }).catch((e: unknown) => e);
    expect(isAaeError(err, 'ABORTED')).toBe(true);
    await expect(abortableSleep(10, undefined)).resolves.toBeUndefined();
  });
});

describe('the state file', () => {
  test('round-trips, refuses another pair or a damaged file, and is replaced whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aae-sync-state-'));
    try {
      const file = defaultStatePath(dir, 'dr 1');
      expect(await loadSyncState(file, { source: 'dc1', sink: 'dr 1' })).toEqual(INITIAL_STATE);
      await fc.assert(
        fc.asyncProperty(
          fc.option(fc.nat(2 ** 45), { nil: null }),
          fc.option(fc.record({ bucket: fc.option(fc.string({ minLength: 1 }), { nil: undefined }), from: fc.nat(1000), to: fc.integer({ min: 1000, max: 5000 }) }), { nil: null }),
          async (previousSuccess, range) => {
            const r = range === null ? null : { ...(range.bucket === undefined ? {} : { bucket: range.bucket }), from: range.from, to: range.to };
            await saveSyncState(file, { source: 'dc1', sink: 'dr 1' }, { previousSuccess, range: r });
            expect(await loadSyncState(file, { source: 'dc1', sink: 'dr 1' })).toEqual({ previousSuccess, range: r });
          },
        ),
        { numRuns: 30 },
      );
      // Only the state itself: no temp file is left behind.
      expect(await readdir(join(dir, 'sync'))).toEqual(['dr%201.json']);
      await expect(loadSyncState(file, { source: 'dc1', sink: 'dr2' })).rejects.toSatisfy((e) => isAaeError(e, 'SYNC_STATE_INVALID'));
      const good = await readFile(file, 'utf8');
      for (const bad of ['{', '[]', good.replace('"version": 1', '"version": 2'), good.replace(/"previousSuccess": [^,]+/, '"previousSuccess": -1')]) {
        await writeFile(file, bad);
        await expect(loadSyncState(file, { source: 'dc1', sink: 'dr 1' }), bad).rejects.toSatisfy((e) => isAaeError(e, 'SYNC_STATE_INVALID'));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
