import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isAaeError } from '../../src/errors.js';
import {
  DAY_MS,
  MAX_SLICES,
  WORK_ITEMS,
  dealSlices,
  firstPeriodStart,
  formatSchedule,
  parseDuration,
  parseSchedule,
  planPeriod,
  sliceCount,
  type ScheduleWants,
} from '../../src/sync/index.js';

const wantsArb: fc.Arbitrary<ScheduleWants> = fc
  .record({ all: fc.nat(6), day: fc.nat(6), hour: fc.nat(30), range: fc.nat(6), auto: fc.nat(6), none: fc.nat(6) })
  .filter((w) => sliceCount(w) > 0);
const randomArb = fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })).map((s) => () => s.next().value);

describe('schedule', () => {
  test('a period holds exactly the checks asked for, one a slice', () => {
    fc.assert(
      fc.property(wantsArb, randomArb, (wants, random) => {
        const order = dealSlices(wants, random);
        expect(order).toHaveLength(sliceCount(wants));
        for (const item of WORK_ITEMS) expect(order.filter((i) => i === item)).toHaveLength(wants[item]);
      }),
    );
  });

  test('each check starts in its own slice, in time order, jittered by at most a minute and a tenth of a slice', () => {
    fc.assert(
      fc.property(wantsArb, randomArb, fc.integer({ min: 1_000, max: 2 * DAY_MS }), fc.nat(2 ** 40), (wants, random, periodMs, start) => {
        const plan = planPeriod(wants, start, periodMs, random);
        const sliceMs = periodMs / plan.length;
        plan.forEach((c, i) => {
          expect(c.slice).toBe(i + 1);
          const sliceStart = start + i * sliceMs;
          expect(c.at).toBeGreaterThanOrEqual(Math.floor(sliceStart));
          // (Slack for floating point: slice starts are fractional ms near 10^12, where a double
          // resolves about 10^-4 ms.)
          expect(c.at - sliceStart).toBeLessThanOrEqual(Math.min(60_000, sliceMs / 10) + 0.01);
          if (i > 0) expect(c.at).toBeGreaterThan(plan[i - 1]!.at);
        });
      }),
    );
  });

  test('the first period starts at the next slice boundary, on a grid anchored at midnight UTC', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.constantFrom(1, 2, 3, 24, 48, 96, 100), (now, slices) => {
        const start = firstPeriodStart(now, DAY_MS, slices);
        const sliceMs = DAY_MS / slices;
        expect(start).toBeGreaterThan(now);
        expect(start - now).toBeLessThanOrEqual(sliceMs + 1e-6);
        const sinceMidnight = start - Math.floor(now / DAY_MS) * DAY_MS;
        expect(Math.abs(sinceMidnight / sliceMs - Math.round(sinceMidnight / sliceMs))).toBeLessThan(1e-9);
      }),
    );
    // 24 checks a day from 10:20 UTC: the next starts at 11:00.
    const now = Date.UTC(2026, 10, 22, 10, 20);
    expect(new Date(firstPeriodStart(now, DAY_MS, 24)).toISOString()).toBe('2026-11-22T11:00:00.000Z');
  });

  test('parseSchedule reads kind=count lists and refuses anything else with INVALID_ARGUMENT', () => {
    expect(parseSchedule('all=1, hour=23')).toEqual({ all: 1, day: 0, hour: 23, range: 0, auto: 0, none: 0 });
    expect(formatSchedule(parseSchedule('hour=23,all=1'))).toBe('all=1,hour=23');
    fc.assert(
      fc.property(wantsArb, (wants) => {
        expect(parseSchedule(formatSchedule(wants))).toEqual(wants);
      }),
    );
    for (const bad of ['', 'all', 'all=x', 'weekly=1', 'all=1,all=2', 'none=0', `all=${MAX_SLICES + 1}`, 'all=-1']) {
      let err: unknown;
      try {
        parseSchedule(bad);
      } catch (e) {
        err = e;
      }
      expect(isAaeError(err, 'INVALID_ARGUMENT'), bad).toBe(true);
    }
  });

  test('parseDuration reads ms, s, m, h and d', () => {
    expect([parseDuration('24h'), parseDuration('90m'), parseDuration('1.5s'), parseDuration('250ms'), parseDuration('1d')]).toEqual([DAY_MS, 5_400_000, 1_500, 250, DAY_MS]);
    for (const bad of ['', '10', 'h', '0s', '-1s', '1w']) expect(() => parseDuration(bad), bad).toThrow();
  });
});
