import { describe, expect, test } from 'vitest';
import { compareClusters, compareReplicas } from '../../src/aae/compare.js';
import { makeClock } from '../../src/cluster/index.js';
import { fast, text, useClusters } from './clusters.js';

const cluster = useClusters('aae-compare-');

describe('compareClusters', () => {
  test('clusters of different layouts: exact deltas and the side ahead', async () => {
    const a = await cluster('a', 16, 3, 3);
    const b = await cluster('b', 32, 2, 4);
    const items = Array.from({ length: 400 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: `v${i}`, clock: makeClock([['src', 1]], 1000 + i) }));
    await a.putMany(items);
    await b.putMany(items);
    expect((await compareClusters(a, b, fast)).inSync).toBe(true);

    await b.put({ bucket: 'b', key: 'k1', value: 'newer', clock: makeClock([['src', 2]], 5000) }); // pink ahead
    await a.put({ bucket: 'b', key: 'only-blue', value: 'x', clock: makeClock([['src', 1]], 1) }); // missing on pink
    await a.delete('b', 'k2', { clock: makeClock([['src', 2]], 6000) }); // tombstone on blue
    await a.put({ bucket: 'b', key: 'k3', value: 'a-side', clock: makeClock([['src', 1], ['a', 1]], 7000) });
    await b.put({ bucket: 'b', key: 'k3', value: 'b-side', clock: makeClock([['src', 1], ['b', 1]], 7001) }); // concurrent

    const r = await compareClusters(a, b, fast);
    expect(r.inSync).toBe(false);
    const seen = Object.fromEntries(r.differences.map((d) => [text(d.key), d.ahead]));
    expect(seen).toEqual({ k1: 'sink', 'only-blue': 'source', k2: 'source', k3: 'concurrent' });
    const k2 = r.differences.find((d) => text(d.key) === 'k2')!;
    expect(k2.source?.deleted).toBe(true);
    expect(r.exchange.deltas.length).toBe(4);
  });

  test('mismatched hash seeds are refused before any comparison', async () => {
    const a = await cluster('a', 8, 1, 1);
    const c = await cluster('c', 8, 1, 1, { seed: 7 });
    await expect(compareClusters(a, c, fast)).rejects.toMatchObject({ code: 'CLUSTERS_INCOMPATIBLE' });
  });
});

describe('compareReplicas', () => {
  test('finds the keys written to fewer than nVal replicas, and only those', async () => {
    const c = await cluster('c', 16, 3, 4);
    await c.putMany(Array.from({ length: 300 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v' })));
    expect((await compareReplicas(c, fast)).inSync).toBe(true);
    await c.put({ bucket: 'b', key: 'partial-1', value: 'x', replicas: 1 });
    await c.put({ bucket: 'b', key: 'partial-2', value: 'x', replicas: 2 });
    const r = await compareReplicas(c, fast);
    expect(r.inSync).toBe(false);
    expect(r.keys).toBe(2);
    // partial-1 is on 1 of 3 replicas: it differs in 2 pairs; partial-2 on 2 of 3: also 2 pairs.
    const byKey = new Map<string, number>();
    for (const d of r.differences) byKey.set(text(d.key), (byKey.get(text(d.key)) ?? 0) + 1);
    expect(Object.fromEntries(byKey)).toEqual({ 'partial-1': 2, 'partial-2': 2 });
    expect(r.pairs).toBe(32);
  });
});
