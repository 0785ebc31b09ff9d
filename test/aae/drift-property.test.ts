import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compareClusters, repairClusters } from '../../src/aae/index.js';
import { defaultSpec, makeClock, type Clock } from '../../src/cluster/index.js';
import type { EmbeddedCluster } from '../../src/coordinator/index.js';
import { useClusters } from './clusters.js';
import { createCluster } from '../support/clusters.js';

/** Per-test clusters (closed and removed after each); the property runs make their own. */
const cluster = useClusters('aae-drift-');

/**
 * For random data sets and random drift between two clusters of random shapes: compare finds
 * exactly the drifted keys and the side ahead, and after repair both sides hold the same version
 * of every key.
 */

type Drift =
  | { kind: 'missing-on-pink'; i: number }
  | { kind: 'missing-on-blue'; i: number }
  | { kind: 'newer-on-blue'; i: number }
  | { kind: 'newer-on-pink'; i: number }
  | { kind: 'deleted-on-blue'; i: number }
  | { kind: 'concurrent'; i: number };

const shapeArb = fc.record({ ringSize: fc.constantFrom(8, 16, 32), nVal: fc.integer({ min: 1, max: 3 }), nodes: fc.integer({ min: 1, max: 4 }) });
const driftArb = fc.record({
  kind: fc.constantFrom<Drift['kind']>('missing-on-pink', 'missing-on-blue', 'newer-on-blue', 'newer-on-pink', 'deleted-on-blue', 'concurrent'),
  i: fc.nat(),
});

const base = (i: number): Clock => makeClock([['src', 1]], 1000 + i);
const expectedAhead: Record<Drift['kind'], string> = {
  'missing-on-pink': 'source',
  'missing-on-blue': 'sink',
  'newer-on-blue': 'source',
  'newer-on-pink': 'sink',
  'deleted-on-blue': 'source',
  concurrent: 'concurrent',
};

describe('compare and repair over random drift', () => {
  test('compare finds exactly the drifted keys and who is ahead; repair makes every key agree', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, shapeArb, fc.integer({ min: 20, max: 300 }), fc.uniqueArray(driftArb, { maxLength: 25, selector: (d) => d.i % 1000 }), async (sa, sb, n, drifts) => {
        const dir = await mkdtemp(join(tmpdir(), 'aae-prop-'));
        const blue = await createCluster(join(dir, 'blue'), defaultSpec('blue', { ringSize: sa.ringSize, nVal: sa.nVal, nodeCount: sa.nodes, treeSize: 'small' }));
        const pink = await createCluster(join(dir, 'pink'), defaultSpec('pink', { ringSize: sb.ringSize, nVal: sb.nVal, nodeCount: sb.nodes, treeSize: 'small' }));
        try {
          const expected = new Map<string, string>();
          const byKey = new Map<number, Drift>();
          for (const d of drifts) byKey.set(d.i % n, { ...d, i: d.i % n });
          for (let i = 0; i < n; i++) {
            const key = `k${i}`;
            const d = byKey.get(i);
            const item = { bucket: 'b', key, value: `v${i}`, clock: base(i) };
            if (d?.kind !== 'missing-on-blue') await blue.put(item);
            if (d?.kind !== 'missing-on-pink') await pink.put(item);
            if (d === undefined) continue;
            expected.set(key, expectedAhead[d.kind]);
            if (d.kind === 'newer-on-blue') await blue.put({ ...item, value: 'b2', clock: makeClock([['src', 2]], 5000 + i) });
            if (d.kind === 'newer-on-pink') await pink.put({ ...item, value: 'p2', clock: makeClock([['src', 2]], 5000 + i) });
            if (d.kind === 'deleted-on-blue') await blue.delete('b', key, { clock: makeClock([['src', 2]], 6000 + i) });
            if (d.kind === 'concurrent') {
              await blue.put({ ...item, value: 'bx', clock: makeClock([['src', 1], ['blue', 1]], 7000 + i) });
              await pink.put({ ...item, value: 'px', clock: makeClock([['src', 1], ['pink', 1]], 7001 + i) });
            }
          }
          const cmp = await compareClusters(blue, pink, { pauseMs: 0, jitter: false, maxResults: 100_000 });
          const found = new Map(cmp.differences.map((d) => [Buffer.from(d.key).toString(), d.ahead as string]));
          expect(found).toEqual(expected);
          expect(cmp.inSync).toBe(expected.size === 0);

          const r = await repairClusters(blue, pink, { pauseMs: 0, jitter: false });
          expect(r.inSync).toBe(true);
          for (let i = 0; i < n; i++) {
            const [x, y] = await Promise.all([blue.get('b', `k${i}`), pink.get('b', `k${i}`)]);
            expect(y?.clock.entries).toEqual(x?.clock.entries);
            expect(y?.deleted).toEqual(x?.deleted);
            expect(Buffer.from(y?.value ?? new Uint8Array()).equals(Buffer.from(x?.value ?? new Uint8Array()))).toBe(true);
          }
        } finally {
          await blue.close();
          await pink.close();
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 12 },
    );
  });

  /** Two clusters of different shapes holding the same 500 objects. */
  async function agreeingPair(): Promise<[EmbeddedCluster, EmbeddedCluster]> {
    const blue = await cluster('blue', 16, 2, 2, { treeSize: 'large' });
    const pink = await cluster('pink', 8, 1, 1, { treeSize: 'large' });
    const items = Array.from({ length: 500 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v', clock: base(i) }));
    await blue.putMany(items);
    await pink.putMany(items);
    return [blue, pink];
  }

  test('a write in flight at the first fetch and landed during the pause is not a difference; one still missing is', async () => {
    // Deterministic: the write reaches blue only; the exchange's pause (injected) is when it
    // reaches pink. Whatever the machine's speed, the first fetch sees it on one side only.
    const [blue, pink] = await agreeingPair();
    const landing = { bucket: 'b', key: 'in-flight', value: 'x', clock: makeClock([['src', 1]], 9000) };
    const lost = { bucket: 'b', key: 'lost', value: 'y', clock: makeClock([['src', 1]], 9001) };
    await blue.put(landing);
    await blue.put(lost);
    let pauses = 0;
    const sleep = async (): Promise<void> => {
      if (pauses++ === 0) await pink.put(landing);
    };
    const cmp = await compareClusters(blue, pink, { sleep, jitter: false });
    expect(pauses).toBeGreaterThan(0);
    expect(cmp.exchange.rounds).toBeGreaterThan(1);
    expect(cmp.differences.map((d) => [Buffer.from(d.key).toString(), d.ahead])).toEqual([['lost', 'source']]);
  });

  test('writes replicated with a lag while compares run are never reported', async () => {
    // The pause is 100× the replication lag: on a loaded two-core machine a 5 ms timer can run
    // tens of ms late, and a write that really is unreplicated for the whole pause is a difference.
    // How many compares catch a write mid-flight depends on timing (the test above pins that case
    // down); this one only asserts that continuous replication never yields a difference.
    const PAUSE_MS = 500;
    const [blue, pink] = await agreeingPair();
    let stop = false;
    let replicated = 0;
    const replicate = (async () => {
      for (let i = 0; !stop; i++) {
        const item = { bucket: 'b', key: `live-${i}`, value: 'x', clock: makeClock([['src', 1]], 9000 + i) };
        await blue.put(item);
        await new Promise((r) => setTimeout(r, 5));
        await pink.put(item);
        replicated++;
      }
    })();
    while (replicated < 3) await new Promise((r) => setTimeout(r, 5));
    try {
      let caughtInFlight = 0;
      for (let round = 0; round < 20 && caughtInFlight < 2; round++) {
        const cmp = await compareClusters(blue, pink, { pauseMs: PAUSE_MS, jitter: false });
        if (cmp.exchange.rounds > 1) caughtInFlight++;
        expect(cmp.differences).toEqual([]);
      }
    } finally {
      stop = true;
      await replicate;
    }
  });
});
