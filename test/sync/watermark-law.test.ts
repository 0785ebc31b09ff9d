import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { defaultSpec, makeClock } from '../../src/cluster/index.js';
import type { EmbeddedCluster } from '../../src/coordinator/index.js';
import { openPair } from './pair.js';
import { INITIAL_STATE, runSyncLoop, type OpenPair, type ScheduleWants } from '../../src/sync/index.js';
import { createCluster } from '../support/clusters.js';

/**
 * The watermark's promise, end to end on real clusters and a simulated clock: whenever a check
 * ends in sync, every object last modified before the watermark agrees on both sides. Writes land
 * on the source at the simulated time and reach the sink only sometimes (replication drops
 * them); the schedule mixes every kind of check.
 */
const T0 = Date.UTC(2026, 10, 22, 0, 0);
const HOUR = 3_600_000;

const wantsArb = fc
  .record({ all: fc.nat(2), day: fc.nat(2), hour: fc.nat(3), range: fc.nat(3), auto: fc.nat(3), none: fc.nat(1) })
  // Some check that looks at everything (all, or auto without a watermark), so that a watermark
  // is set and the law has something to hold; a range-only schedule would never start.
  .filter((w) => w.all + w.auto > 0) as fc.Arbitrary<ScheduleWants>;

describe('the sync watermark', () => {
  test('law: after any check that ends in sync, every object modified before the watermark agrees', async () => {
    const totals = { checked: 0, repaired: 0 };
    await fc.assert(
      fc.asyncProperty(wantsArb, fc.integer({ min: 1, max: 2 ** 31 }), fc.double({ min: 0.3, max: 0.7, noNaN: true }), async (wants, seed, dropRate) => {
        const dir = await mkdtemp(join(tmpdir(), 'aae-watermark-'));
        try {
          const spec = (name: string, nVal: number) => defaultSpec(name, { ringSize: 8, nVal, nodeCount: 2, treeSize: 'small' });
          await (await createCluster(join(dir, 'dc1'), spec('dc1', 2))).close();
          await (await createCluster(join(dir, 'dr1'), spec('dr1', 1))).close();
          let now = T0 + 30 * 60_000;
          let rand = seed;
          const random = (): number => ((rand = (rand * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
          const written = new Map<string, number>(); // key → lastModified of its newest version
          let counter = 0;
          const openBoth = () => openPair(dir);
          const open = (): Promise<OpenPair> => openBoth();
          // While the loop waits, the application writes: some writes never reach the sink.
          const sleep = async (ms: number): Promise<void> => {
            const writes = 1 + Math.floor(random() * 5);
            const pair = await openBoth();
            try {
              for (let i = 0; i < writes; i++) {
                const at = Math.floor(now + random() * ms);
                const key = `k${Math.floor(random() * 40)}`;
                const item = { bucket: 'b', key, value: `v${++counter}`, clock: makeClock([['app', counter]], at) };
                await pair.source.put(item);
                if (random() >= dropRate) await pair.sink.put(item);
                written.set(key, at);
              }
            } finally {
              await pair.close();
            }
            now += ms;
          };
          await runSyncLoop({
            open,
            wants,
            periodMs: 6 * HOUR,
            state: INITIAL_STATE,
            now: () => now,
            sleep,
            random,
            maxChecks: 8,
            repair: { pauseMs: 0, jitter: false },
            onCheck: async (report) => {
              const w = report.state.previousSuccess;
              if (report.outcome === 'repaired') totals.repaired++;
              if (w === null || (report.outcome !== 'in_sync' && report.outcome !== 'repaired')) return;
              const pair = await openBoth();
              try {
                for (const [key, at] of written) {
                  if (at >= w) continue;
                  const [a, b] = [await pair.source.get('b', key), await pair.sink.get('b', key)];
                  expect(b?.clock.entries, `${key} (modified ${at - T0} ms in, watermark ${w - T0}) after ${report.item}→${report.kind}`).toEqual(a?.clock.entries);
                  totals.checked++;
                }
              } finally {
                await pair.close();
              }
            },
          });
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 6 },
    );
    // Not vacuous: objects were checked against a watermark, and checks had drift to repair.
    expect(totals.checked).toBeGreaterThan(0);
    expect(totals.repaired).toBeGreaterThan(0);
  });
});
