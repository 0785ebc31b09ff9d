import { expect, test } from 'vitest';
import { defaultSpec, dominates, equalClocks, type Clock } from '../../src/cluster/index.js';
import type { PutItem } from '../../src/coordinator/index.js';
import { aroundBatchWrites, expectTreesMatchData, sleep, useFreshCluster } from './helpers.js';

/**
 * The cluster queue pipelines (a flush starts while the one before it is still landing). What
 * must still hold: writes to one key land in the order they were queued, and a clockless write
 * mints a clock that descends from every write queued before it, landed or not.
 */

const spec = defaultSpec('pipe', { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' });
const X7: Clock = { entries: [['x', 7]], lastModified: 7 };

const env = useFreshCluster(spec);

/** Makes every LevelDB batch of the cluster land `ms` later: writes stay in flight long enough to race. */
function slowLandings(ms: number): void {
  aroundBatchWrites(env.cluster, async (write) => {
    await sleep(ms);
    await write();
  });
}

/** Every replica's clock of a key (null where a replica lacks it). */
async function clocks(key: string): Promise<Array<Clock | null>> {
  return (await env.cluster.getReplicas('b', key)).map((r) => r.object?.clock ?? null);
}

test('a clockless write queued while the clocked batch holding its key is still landing descends from it', async () => {
  const batch = 200;
  const items: PutItem[] = Array.from({ length: 2000 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'loaded', clock: X7 }));
  const clockless: Array<Promise<unknown>> = [];
  const touched: string[] = [];
  slowLandings(15);
  await env.cluster.putMany(items, {
    batchSize: batch,
    // When batch j lands, batch j+1 is already queued (two in flight): write a key of it now.
    onProgress: ({ written }) => {
      if (written >= items.length) return;
      const key = `k${written + 7}`;
      touched.push(key);
      clockless.push(env.cluster.put({ bucket: 'b', key, value: 'after' }));
    },
  });
  await Promise.all(clockless);
  expect(touched.length).toBe(items.length / batch - 1);
  for (const key of touched) {
    for (const c of await clocks(key)) {
      expect(c, key).not.toBeNull();
      expect(dominates(c!, X7), `${key}: ${JSON.stringify(c)}`).toBe(true);
    }
    expect((await env.cluster.get('b', key))!.value).toEqual(new TextEncoder().encode('after'));
  }
  await expectTreesMatchData(env.cluster.vnodes(), spec, (a, b, msg) => expect(a, msg).toEqual(b));
});

test('in one flush, a clockless write after a clocked write of the same key descends from it', async () => {
  await env.cluster.put({ bucket: 'b', key: 'k', value: 'old' }); // a stored version to merge as well
  const before = (await clocks('k'))[0]!;
  const [clocked, minted] = await Promise.all([
    env.cluster.put({ bucket: 'b', key: 'k', value: 'clocked', clock: X7 }),
    env.cluster.put({ bucket: 'b', key: 'k', value: 'minted' }),
  ]);
  expect(equalClocks(clocked.clock, X7)).toBe(true);
  expect(dominates(minted.clock, X7)).toBe(true);
  expect(dominates(minted.clock, before)).toBe(true);
  for (const c of await clocks('k')) expect(equalClocks(c!, minted.clock)).toBe(true);
});

test('writes to one key across pipelined batches land in queue order: the last one stays', async () => {
  // Key 'hot' once in every batch of 50, its counter rising; other keys fill the batches.
  const items: PutItem[] = [];
  for (let i = 1; i <= 1000; i++) {
    items.push(i % 50 === 0 ? { bucket: 'b', key: 'hot', value: `v${i}`, clock: { entries: [['x', i]], lastModified: i } } : { bucket: 'b', key: `f${i}`, value: 'fill', clock: X7 });
  }
  const { written } = await env.cluster.putMany(items, { batchSize: 50 });
  expect(written).toBe(1000);
  for (const c of await clocks('hot')) expect(c!.entries).toEqual([['x', 1000]]);
  await expectTreesMatchData(env.cluster.vnodes(), spec, (a, b, msg) => expect(a, msg).toEqual(b));
});

test('a put stores the clock it was given, whatever the caller does with its pairs once it is queued', async () => {
  const pair: [string, number] = ['x', 7];
  const p = env.cluster.put({ bucket: 'b', key: 'k', value: 'v', clock: { entries: [pair], lastModified: 1 } });
  pair[1] = 8;
  await p;
  for (const c of await clocks('k')) expect(c!.entries).toEqual([['x', 7]]);
});
