import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compareClusters, repairClusters } from '../../src/aae/index.js';
import { defaultSpec, makeClock } from '../../src/cluster/index.js';
import type { EmbeddedCluster } from '../../src/coordinator/index.js';
import { fast, useClusters } from './clusters.js';
import { createCluster } from '../support/clusters.js';

/** Per-test clusters (closed and removed after each); the property runs make their own. */
const cluster = useClusters('aae-stale-');

/**
 * A repair between two clusters whose own replicas disagree: some replicas of a side hold a newer
 * version than the others, or lack the key. Whichever replicas the exchange's coverage happens to
 * read, the repair must end in sync, and every key it was given must end with every replica of
 * both clusters holding the same version, the newest either side held. (Keys whose stale replicas
 * no coverage read are the job of a repair inside each cluster.)
 */

const shapeArb = fc.record({ ringSize: fc.constantFrom(8, 16), nVal: fc.integer({ min: 2, max: 3 }), nodes: fc.integer({ min: 1, max: 3 }) });
/** Per key and side: how many replicas (the first K of the preflist) hold the newer version; -1: none hold the key. */
const keyArb = fc.record({ blue: fc.integer({ min: -1, max: 3 }), pink: fc.integer({ min: -1, max: 3 }) });

async function replicaVersions(c: EmbeddedCluster, key: string): Promise<Array<string | null>> {
  const [reads] = await c.readReplicas([{ bucket: 'b', key: new TextEncoder().encode(key) }]);
  return reads!.map((r) => (r.object === null ? null : JSON.stringify([r.object.clock.entries, r.object.deleted, Buffer.from(r.object.value).toString()])));
}

describe('repair between clusters whose replicas disagree', () => {
  test('the repair ends in sync, and every key it found ends the same on every replica of both sides', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, shapeArb, fc.array(keyArb, { minLength: 1, maxLength: 12 }), fc.nat(), fc.nat(), async (sa, sb, keys, sourceOffset, sinkOffset) => {
        const dir = await mkdtemp(join(tmpdir(), 'aae-stale-'));
        const spec = (name: string, s: typeof sa) => defaultSpec(name, { ringSize: s.ringSize, nVal: s.nVal, nodeCount: s.nodes, treeSize: 'small' });
        const blue = await createCluster(join(dir, 'blue'), spec('blue', sa));
        const pink = await createCluster(join(dir, 'pink'), spec('pink', sb));
        try {
          for (const [i, k] of keys.entries()) {
            const key = `k${i}`;
            const old = { bucket: 'b', key, value: 'old', clock: makeClock([['src', 1]], 1000) };
            const newer = { bucket: 'b', key, value: 'new', clock: makeClock([['src', 2]], 2000) };
            for (const [c, n, nVal] of [[blue, k.blue, sa.nVal], [pink, k.pink, sb.nVal]] as const) {
              if (n < 0) continue;
              await c.put(old);
              if (n > 0) await c.put({ ...newer, replicas: Math.min(n, nVal) });
            }
          }
          const offsets = { sourceOffset: sourceOffset % (sa.ringSize * sa.nVal), sinkOffset: sinkOffset % (sb.ringSize * sb.nVal) };
          const r = await repairClusters(blue, pink, { ...fast, ...offsets, rangeReplication: false });
          expect(r.inSync).toBe(true);
          expect((await compareClusters(blue, pink, { ...fast, ...offsets })).inSync).toBe(true);
          for (const d of r.firstDifferences) {
            const key = Buffer.from(d.key).toString();
            const k = keys[Number(key.slice(1))]!;
            const newest = k.blue > 0 || k.pink > 0 ? 'new' : 'old';
            const versions = [...(await replicaVersions(blue, key)), ...(await replicaVersions(pink, key))];
            expect(new Set(versions).size).toBe(1);
            expect(JSON.parse(versions[0]!)[2]).toBe(newest);
          }
        } finally {
          await blue.close();
          await pink.close();
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 15 },
    );
  });

  test('a source replica behind its siblings, while the sink already holds the newest version, is healed in one repair', async () => {
    // The case users met: `aae repair dc1 dr1` kept finding differences and writing nothing until
    // `aae repair dc1` had been run.
    const blue = await cluster('blue', 8, 3, 3);
    const pink = await cluster('pink', 8, 1, 1);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    for (const key of keys) {
      await blue.put({ bucket: 'b', key, value: 'old', clock: makeClock([['src', 1]], 1000) });
      const newer = { bucket: 'b', key, value: 'new', clock: makeClock([['src', 2]], 2000) };
      await blue.put({ ...newer, replicas: 1 });
      await pink.put(newer);
    }
    // Offset 1 reads a stale replica of some keys: the sides differ though `get` agrees.
    const cmp = await compareClusters(blue, pink, { ...fast, sourceOffset: 1, sinkOffset: 0 });
    expect(cmp.differences.length).toBeGreaterThan(0);
    expect(cmp.differences.every((d) => d.ahead === 'sink')).toBe(true);
    const r = await repairClusters(blue, pink, { ...fast, sourceOffset: 1, sinkOffset: 0 });
    expect(r.inSync).toBe(true);
    expect(r.loops).toHaveLength(1);
    // Each key found has two stale replicas on blue; pink is written nothing.
    expect(r.totals.placesWritten).toBe(2 * cmp.differences.length);
    expect(r.loops[0]!.stats.actions.map((a) => a.to)).toEqual(cmp.differences.map(() => ['blue']));
    expect((await compareClusters(blue, pink, { ...fast, sourceOffset: 1, sinkOffset: 0 })).inSync).toBe(true);
  });
});

describe('range replication when the source replicas disagree', () => {
  test.each([1, 2])('a newer version on %i of 3 source replicas reaches every replica of both sides, whatever the coverage', async (newer) => {
    const blue = await cluster('blue', 8, 3, 3);
    const pink = await cluster('pink', 8, 2, 2);
    // Enough keys to dirty most of a small tree's 256 branches: a large delta.
    const n = 600;
    for (let i = 0; i < n; i++) {
      await blue.put({ bucket: 'b', key: `k${i}`, value: 'old', clock: makeClock([['src', 1]], 1000) });
      await blue.put({ bucket: 'b', key: `k${i}`, value: 'new', clock: makeClock([['src', 2]], 2000), replicas: newer });
    }
    // An empty sink and a tiny maxResults: large damage, so the repair replicates by range.
    const first = await repairClusters(blue, pink, { ...fast, maxResults: 4, sourceOffset: newer, sinkOffset: 0 });
    expect(first.inSync).toBe(true);
    expect(first.loops[0]!.mode).toBe('range');
    // Every coverage of blue now reads the newest version: each finds the sides in sync.
    for (const sourceOffset of [0, 1, 2]) expect((await compareClusters(blue, pink, { ...fast, sourceOffset, sinkOffset: 0 })).inSync).toBe(true);
    expect((await repairClusters(blue, pink, { ...fast, maxResults: 4 })).loops.some((l) => l.mode === 'range')).toBe(false);
    for (let i = 0; i < n; i++) {
      const versions = [...(await replicaVersions(blue, `k${i}`)), ...(await replicaVersions(pink, `k${i}`))];
      expect(new Set(versions).size, `k${i}`).toBe(1);
      expect(JSON.parse(versions[0]!)[2]).toBe('new');
    }
  });
});

describe('healReplicas: keys that reached only some replicas of the source', () => {
  test('reach the sink whatever replicas the coverage reads, and each cluster ends with full replicas', async () => {
    const blue = await cluster('blue', 16, 3, 4);
    const pink = await cluster('pink', 8, 2, 3);
    const base = Array.from({ length: 100 }, (_, i) => ({ bucket: 'b', key: `base${i}`, value: 'v', clock: makeClock([['src', 1]], 1000) }));
    await blue.putMany(base);
    await pink.putMany(base);
    for (let i = 0; i < 20; i++) await blue.put({ bucket: 'b', key: `one${i}`, value: 'x', clock: makeClock([['z', 1]], 2000), replicas: 1 });
    for (const sourceOffset of [1, 2]) {
      const r = await repairClusters(blue, pink, { ...fast, healReplicas: true, sourceOffset, sinkOffset: 0 });
      expect(r.inSync).toBe(true);
      expect(r.replicas?.map((x) => x.cluster)).toEqual(['blue', 'pink']);
    }
    for (let i = 0; i < 20; i++) {
      expect(new Set(await replicaVersions(blue, `one${i}`)).size).toBe(1);
      expect(await replicaVersions(pink, `one${i}`)).toEqual(await replicaVersions(blue, `one${i}`).then((v) => v.slice(0, 2)));
    }
  });
});
