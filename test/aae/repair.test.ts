import { describe, expect, test } from 'vitest';
import { compareClusters, compareReplicas, repairClusters, repairReplicas } from '../../src/aae/index.js';
import { descends, makeClock, type AaeObject } from '../../src/cluster/index.js';
import { MemoryConflictSink } from '../../src/repair/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { fast, text, useClusters } from './clusters.js';

const cluster = useClusters('aae-repair-');

/** Every key's version as each cluster's get sees it: must match exactly after a repair. */
async function heads(c: EmbeddedCluster, keys: string[]): Promise<Array<string | null>> {
  return Promise.all(
    keys.map(async (k) => {
      const o = await c.get('b', k);
      return o === null ? null : JSON.stringify([o.clock.entries, o.deleted, text(o.value)]);
    }),
  );
}

describe('repairClusters', () => {
  test('each kind of drift is repaired toward the side ahead; the concurrent loser is logged', async () => {
    const a = await cluster('a', 16, 3, 3);
    const b = await cluster('b', 32, 2, 4);
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    const items = keys.map((key, i) => ({ bucket: 'b', key, value: `v${i}`, clock: makeClock([['src', 1]], 1000 + i) }));
    await a.putMany(items);
    await b.putMany(items);

    await b.put({ bucket: 'b', key: 'k1', value: 'newer-on-b', clock: makeClock([['src', 2]], 5000) });
    await a.put({ bucket: 'b', key: 'only-a', value: 'x', clock: makeClock([['src', 1]], 1) });
    await a.delete('b', 'k2', { clock: makeClock([['src', 2]], 6000) });
    await a.put({ bucket: 'b', key: 'k3', value: 'a-side', clock: makeClock([['src', 1], ['a', 1]], 7000) });
    await b.put({ bucket: 'b', key: 'k3', value: 'b-side', clock: makeClock([['src', 1], ['b', 1]], 7001) });

    const log = new MemoryConflictSink();
    const r = await repairClusters(a, b, { ...fast, conflictLog: log });
    expect(r.inSync).toBe(true);
    expect(r.totals).toMatchObject({ copied: 3, resolved: 1, conflictsLogged: 1 });
    expect(log.entries.map((e) => [text(e.loser.value), e.where])).toEqual([['a-side', 'a']]);

    const all = [...keys, 'only-a'];
    expect(await heads(a, all)).toEqual(await heads(b, all));
    expect(text((await a.get('b', 'k1'))!.value)).toBe('newer-on-b');
    expect((await b.get('b', 'k2'))!.deleted).toBe(true);
    const k3 = (await b.get('b', 'k3'))!;
    expect(text(k3.value)).toBe('b-side');
    expect(descends(k3.clock, makeClock([['src', 1], ['a', 1], ['b', 1]], 0))).toBe(true);
    expect((await compareClusters(a, b, fast)).inSync).toBe(true);

    // Idempotent: a second repair finds nothing to do.
    const again = await repairClusters(a, b, fast);
    expect(again.loops).toEqual([]);
    expect(again.inSync).toBe(true);
  });

  test('an empty sink is filled by range replication in one command', async () => {
    const a = await cluster('a', 16, 3, 3);
    const b = await cluster('b', 8, 1, 1);
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
    await a.putMany(keys.map((key) => ({ bucket: 'b', key, value: key, clock: makeClock([['src', 1]], 1) })));
    const r = await repairClusters(a, b, fast);
    expect(r.inSync).toBe(true);
    expect(r.loops[0]!.mode).toBe('range');
    expect(r.totals.copied).toBe(3000);
    expect(await heads(b, keys)).toEqual(await heads(a, keys));
  });

  test('--dry-run writes nothing and reports what it would do', async () => {
    const a = await cluster('a', 8, 2, 2);
    const b = await cluster('b', 8, 2, 2);
    await a.put({ bucket: 'b', key: 'x', value: '1', clock: makeClock([['s', 1]], 1) });
    const r = await repairClusters(a, b, { ...fast, dryRun: true });
    expect(r.inSync).toBe(false);
    expect(r.totals.copied).toBe(1);
    expect(r.totals.placesWritten).toBe(0);
    expect(r.loops[0]!.stats.actions[0]).toMatchObject({ kind: 'copy', from: 'a', to: ['b'] });
    expect(await b.get('b', 'x')).toBeNull();
  });

  test('report leaves concurrent versions alone and says so', async () => {
    const a = await cluster('a', 8, 1, 1);
    const b = await cluster('b', 8, 1, 1);
    await a.put({ bucket: 'b', key: 'x', value: 'a', clock: makeClock([['a', 1]], 1) });
    await b.put({ bucket: 'b', key: 'x', value: 'b', clock: makeClock([['b', 1]], 2) });
    const r = await repairClusters(a, b, { ...fast, policy: 'report' });
    expect(r.inSync).toBe(false);
    expect(r.totals.reported).toBe(1);
    expect(text((await a.get('b', 'x'))!.value)).toBe('a');
  });

  test('live writes during a repair are never overwritten by older versions', async () => {
    const a = await cluster('a', 16, 3, 3);
    const b = await cluster('b', 16, 2, 2);
    const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
    await a.putMany(keys.map((key) => ({ bucket: 'b', key, value: 'old', clock: makeClock([['src', 1]], 1) })));
    // The sink gets newer versions of every tenth key while the repair runs.
    const newest = new Map<string, AaeObject>();
    let stop = false;
    const writer = (async () => {
      for (let round = 2; !stop && round < 200; round++) {
        for (let i = 0; i < keys.length; i += 10) {
          newest.set(keys[i]!, await b.put({ bucket: 'b', key: keys[i]!, value: `live-${round}`, clock: makeClock([['src', round]], round) }));
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    let first;
    try {
      first = await repairClusters(a, b, { ...fast, maxLoops: 3 });
    } finally {
      stop = true;
      await writer;
    }
    // The sink started empty: the first loop replicated by range while the writes ran.
    expect(first.loops[0]!.mode).toBe('range');
    for (const [key, obj] of newest) {
      const now = (await b.get('b', key))!;
      expect(descends(now.clock, obj.clock)).toBe(true);
      expect(text(now.value)).toBe(text(obj.value));
    }
    // Once the writes stop, one more repair brings the sides together.
    expect((await repairClusters(a, b, fast)).inSync).toBe(true);
  });
});

describe('repairReplicas', () => {
  test('read repair copies the dominant version to every replica', async () => {
    const c = await cluster('c', 16, 3, 4);
    await c.putMany(Array.from({ length: 200 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v' })));
    await c.put({ bucket: 'b', key: 'partial', value: 'x', replicas: 1 });
    await c.put({ bucket: 'b', key: 'k5', value: 'newer', replicas: 2 });
    const r = await repairReplicas(c, fast);
    expect(r.inSync).toBe(true);
    expect(r.totals.copied).toBe(2);
    const replicas = await c.getReplicas('b', 'partial');
    expect(replicas.every((x) => x.object !== null && text(x.object.value) === 'x')).toBe(true);
    const k5 = await c.getReplicas('b', 'k5');
    expect(k5.map((x) => text(x.object!.value))).toEqual(['newer', 'newer', 'newer']);
    expect((await compareReplicas(c, fast)).inSync).toBe(true);
  });
});
