import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Difference } from '../../src/aae/index.js';
import { makeClock } from '../../src/cluster/index.js';
import { DAY_MS, INITIAL_STATE, afterCheck, inWindow, parseWindow, resolveCheck, spanOf, type ResolvedCheck, type SyncState } from '../../src/sync/index.js';

const NOW = Date.UTC(2026, 10, 22, 14, 30);
const HOUR = 3_600_000;

const diff = (bucket: string, sourceLm: number | null, sinkLm: number | null): Difference => ({
  bucket,
  key: new TextEncoder().encode('k'),
  source: sourceLm === null ? null : { clock: makeClock([['a', 1]], sourceLm), deleted: false, hash: 1 },
  sink: sinkLm === null ? null : { clock: makeClock([['a', 2]], sinkLm), deleted: false, hash: 2 },
  ahead: 'sink',
});

const modifiedOf = (c: ReturnType<typeof resolveCheck>) => (c.run && c.scope.kind === 'range' ? c.scope.modifiedRange : undefined);

describe('resolveCheck', () => {
  test('all compares the cached trees; day and hour the objects modified in the last 24 hours or hour', () => {
    expect(resolveCheck('all', INITIAL_STATE, NOW, 'always')).toMatchObject({ run: true, kind: 'all', scope: { kind: 'full' } });
    expect(modifiedOf(resolveCheck('day', INITIAL_STATE, NOW, 'always'))).toEqual({ from: NOW - DAY_MS, to: NOW });
    expect(modifiedOf(resolveCheck('hour', INITIAL_STATE, NOW, 'always'))).toEqual({ from: NOW - HOUR, to: NOW });
    expect(resolveCheck('none', INITIAL_STATE, NOW, 'always').run).toBe(false);
  });

  test('range: the span left by an unfinished check first, else since the last success (5 s past now), else nothing', () => {
    const left: SyncState = { previousSuccess: NOW - 5 * HOUR, range: { bucket: 'users', from: 100, to: 200 } };
    const r = resolveCheck('range', left, NOW, 'always');
    expect(r).toMatchObject({ run: true, kind: 'range', scope: { kind: 'range', bucket: 'users', modifiedRange: { from: 100, to: 200 } } });
    expect(modifiedOf(resolveCheck('range', { previousSuccess: NOW - HOUR, range: null }, NOW, 'always'))).toEqual({ from: NOW - HOUR, to: NOW + 5_000 });
    expect(resolveCheck('range', INITIAL_STATE, NOW, 'always').run).toBe(false);
  });

  test('auto: a range check whenever one is possible, else all inside the window and day outside it', () => {
    fc.assert(
      fc.property(
        fc.option(fc.nat(NOW), { nil: null }),
        fc.option(fc.record({ from: fc.nat(1000), to: fc.integer({ min: 1000, max: 2000 }) }), { nil: null }),
        fc.constantFrom('always', 'never', '13-15', '22-4') as fc.Arbitrary<string>,
        (previousSuccess, range, w) => {
          const window = parseWindow(w);
          const r = resolveCheck('auto', { previousSuccess, range }, NOW, window);
          expect(r.run).toBe(true);
          const kind = r.run ? r.kind : undefined;
          if (range !== null || previousSuccess !== null) expect(kind).toBe('range');
          else expect(kind).toBe(inWindow(NOW, window) ? 'all' : 'day');
        },
      ),
    );
  });
});

describe('windows', () => {
  test('H1-H2 holds the hours from H1 up to H2, wrapping midnight; H-H is that one hour', () => {
    const at = (h: number) => Date.UTC(2026, 10, 22, h, 59);
    const hours = (w: string) => Array.from({ length: 24 }, (_, h) => h).filter((h) => inWindow(at(h), parseWindow(w)));
    expect(hours('1-4')).toEqual([1, 2, 3]);
    expect(hours('22-2')).toEqual([0, 1, 22, 23]);
    expect(hours('3-3')).toEqual([3]);
    expect(hours('always')).toHaveLength(24);
    expect(hours('never')).toEqual([]);
    for (const bad of ['24-1', '1-', 'sometimes', '1-2-3']) expect(() => parseWindow(bad), bad).toThrow();
  });
});

describe('afterCheck', () => {
  const all = resolveCheck('all', INITIAL_STATE, NOW, 'always') as Extract<ResolvedCheck, { run: true }>;
  const runnable = (c: ResolvedCheck) => c as Extract<ResolvedCheck, { run: true }>;

  test('a full check in sync sets the watermark to its start and clears the span and the due full check', () => {
    const before: SyncState = { previousSuccess: 5, range: { from: 1, to: 2 }, fullCheckDue: true };
    expect(afterCheck(all, before, { startedAt: NOW, inSync: true, differences: [diff('b', 1, 2)] })).toEqual({ previousSuccess: NOW, range: null });
  });

  test('a check with differences left keeps the watermark, records the span, and makes a full check due', () => {
    const before: SyncState = { previousSuccess: NOW - HOUR, range: null };
    expect(afterCheck(all, before, { startedAt: NOW, inSync: false, differences: [diff('b', 5_000, null), diff('b', null, 9_000)] })).toEqual({
      previousSuccess: NOW - HOUR,
      range: { bucket: 'b', from: 4_000, to: 10_000 },
      fullCheckDue: true,
    });
    // Nothing it could list: the old span (if any) stays.
    expect(afterCheck(all, { previousSuccess: null, range: { from: 1, to: 2 } }, { startedAt: NOW, inSync: false, differences: [] })).toEqual({
      previousSuccess: null,
      range: { from: 1, to: 2 },
      fullCheckDue: true,
    });
  });

  test('a span check in sync clears the span but does not move the watermark past writes it never looked at', () => {
    const before: SyncState = { previousSuccess: NOW - 2 * HOUR, range: { bucket: 'b', from: 1_000, to: 2_000 }, fullCheckDue: true };
    const span = runnable(resolveCheck('range', before, NOW, 'always'));
    expect(afterCheck(span, before, { startedAt: NOW, inSync: true, differences: [] })).toEqual({ previousSuccess: NOW - 2 * HOUR, range: null, fullCheckDue: true });
    // Then auto runs the full check that is due, not a range since the watermark.
    expect(resolveCheck('auto', { previousSuccess: NOW - 2 * HOUR, range: null, fullCheckDue: true }, NOW, 'always')).toMatchObject({ kind: 'all' });
  });

  test('law: the watermark never moves back, and moves up only over a window the check looked at without a gap', () => {
    const stateArb = fc.record({
      previousSuccess: fc.option(fc.integer({ min: NOW - 3 * DAY_MS, max: NOW }), { nil: null }),
      range: fc.option(fc.record({ from: fc.integer({ min: 0, max: NOW }), to: fc.integer({ min: NOW, max: NOW + 1 }) }), { nil: null }),
      fullCheckDue: fc.boolean(),
    });
    fc.assert(
      fc.property(stateArb, fc.constantFrom('all', 'day', 'hour', 'range', 'auto') as fc.Arbitrary<'all' | 'day' | 'hour' | 'range' | 'auto'>, fc.boolean(), (before, item, inSync) => {
        const check = resolveCheck(item, before, NOW, 'always');
        if (!check.run) return;
        const after = afterCheck(check, before, { startedAt: NOW, inSync, differences: [] });
        const w0 = before.previousSuccess ?? -Infinity;
        const w1 = after.previousSuccess ?? -Infinity;
        expect(w1).toBeGreaterThanOrEqual(w0);
        if (w1 > w0) {
          expect(inSync).toBe(true);
          if (check.scope.kind === 'range') {
            const m = check.scope.modifiedRange!;
            expect(check.scope.bucket).toBeUndefined();
            expect(m.from).toBeLessThanOrEqual(before.previousSuccess ?? 0);
            expect(m.to).toBeGreaterThanOrEqual(w1);
          }
        }
        if (!inSync) expect(after.fullCheckDue).toBe(true);
      }),
    );
  });

  test('the span covers every clock found, across buckets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ bucket: fc.constantFrom('a', 'b'), blue: fc.option(fc.nat(1e9), { nil: null }), pink: fc.option(fc.nat(1e9), { nil: null }) }), { minLength: 1, maxLength: 20 }),
        (rows) => {
          const span = spanOf(rows.map((r) => diff(r.bucket, r.blue, r.pink)));
          const times = rows.flatMap((r) => [r.blue, r.pink]).filter((t): t is number => t !== null);
          if (times.length === 0) {
            expect(span).toBeNull();
            return;
          }
          for (const t of times) {
            expect(span!.from).toBeLessThanOrEqual(t);
            expect(span!.to).toBeGreaterThanOrEqual(t);
          }
          expect(span!.bucket).toBe(new Set(rows.map((r) => r.bucket)).size === 1 ? rows[0]!.bucket : undefined);
        },
      ),
    );
  });
});

describe('a sync limited to one bucket', () => {
  const scope = { bucket: 'orders' };
  test('every check names the bucket; the full check is a large tree folded over it', () => {
    expect(resolveCheck('all', INITIAL_STATE, NOW, 'always', scope)).toMatchObject({ kind: 'all', syncBucket: 'orders', scope: { kind: 'range', treeSize: 'large', bucket: 'orders' } });
    expect(resolveCheck('all', INITIAL_STATE, NOW, 'always', scope)).not.toHaveProperty('scope.modifiedRange');
    for (const item of ['day', 'hour', 'auto'] as const) {
      expect(resolveCheck(item, { previousSuccess: NOW - HOUR, range: null }, NOW, 'always', scope)).toMatchObject({ scope: { bucket: 'orders' } });
    }
    expect(resolveCheck('range', { previousSuccess: null, range: { from: 1, to: 2 } }, NOW, 'always', scope)).toMatchObject({ scope: { bucket: 'orders', modifiedRange: { from: 1, to: 2 } } });
  });

  test('its watermark moves as an unscoped one does: the bucket is everything it covers', () => {
    const all = resolveCheck('all', INITIAL_STATE, NOW, 'always', scope) as Extract<ResolvedCheck, { run: true }>;
    expect(afterCheck(all, INITIAL_STATE, { startedAt: NOW, inSync: true, differences: [] })).toEqual({ previousSuccess: NOW, range: null });
    const before: SyncState = { previousSuccess: NOW - HOUR, range: null };
    const since = resolveCheck('range', before, NOW, 'always', scope) as Extract<ResolvedCheck, { run: true }>;
    expect(afterCheck(since, before, { startedAt: NOW, inSync: true, differences: [] }).previousSuccess).toBe(NOW);
  });
});

describe('a watermark ahead of the clock', () => {
  test('is treated as none: range has nothing to look at, auto runs a full check', () => {
    const ahead: SyncState = { previousSuccess: NOW + DAY_MS * 365, range: null };
    expect(resolveCheck('range', ahead, NOW, 'always').run).toBe(false);
    expect(resolveCheck('auto', ahead, NOW, 'always')).toMatchObject({ kind: 'all' });
    const all = resolveCheck('auto', ahead, NOW, 'always') as Extract<ResolvedCheck, { run: true }>;
    expect(afterCheck(all, ahead, { startedAt: NOW, inSync: true, differences: [] }).previousSuccess).toBe(NOW);
  });
});
