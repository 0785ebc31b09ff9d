import { join } from 'node:path';
import { expect, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster, type PutItem } from '../../src/coordinator/index.js';
import { aroundBatchWrites, sleep, useFreshCluster } from './helpers.js';

/**
 * putMany with two batches in flight, when things go wrong: a batch failing while putMany waits on
 * its source is reported as the call's error, never as an unhandled rejection (which ends a Node
 * process); the count reported last is what is stored, on abort and on failure.
 */

const spec = defaultSpec('many', { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' });
const env = useFreshCluster(spec);

test('a batch that fails while putMany waits for its async source is not an unhandled rejection', async () => {
  // Every LevelDB batch of every node fails.
  aroundBatchWrites(env.cluster, async (_write, discard) => {
    await discard();
    throw new Error('disk full');
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown): void => void unhandled.push(r);
  process.prependListener('unhandledRejection', onUnhandled);
  try {
    async function* source(): AsyncGenerator<PutItem> {
      for (let i = 0; i < 10; i++) yield { bucket: 'b', key: `k${i}`, value: 'v' };
      // the source is slow: the first batch lands (and fails) meanwhile
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 10; i < 20; i++) yield { bucket: 'b', key: `k${i}`, value: 'v' };
    }
    await expect(env.cluster.putMany(source(), { batchSize: 10 })).rejects.toThrow('disk full');
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    process.removeListener('unhandledRejection', onUnhandled);
  }
  expect(unhandled).toEqual([]);
});

async function stored(n: number): Promise<number> {
  let c = 0;
  for (let i = 0; i < n; i++) if ((await env.cluster.get('b', `k${i}`)) !== null) c++;
  return c;
}

test('abort after the first batch lands: the last count reported is what is stored', async () => {
  const ac = new AbortController();
  let last = 0;
  const items: PutItem[] = Array.from({ length: 100 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v' }));
  await expect(
    env.cluster.putMany(items, {
      batchSize: 10,
      signal: ac.signal,
      onProgress: ({ written }) => {
        last = written;
        ac.abort();
      },
    }),
  ).rejects.toMatchObject({ code: 'ABORTED' });
  expect(last).toBe(await stored(100));
});

test('a failing batch: the last count reported is what is stored, the error is the batch’s', async () => {
  let writes = 0;
  aroundBatchWrites(env.cluster, async (write, discard) => {
    await sleep(3);
    if (++writes === 7) {
      await discard();
      throw new Error('disk full');
    }
    await write();
  });
  let last = 0;
  const items: PutItem[] = Array.from({ length: 100 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v' }));
  await expect(env.cluster.putMany(items, { batchSize: 10, onProgress: ({ written }) => void (last = written) })).rejects.toThrow('disk full');
  // A failed batch may be partly stored (other replicas): count keys stored on every replica.
  let full = 0;
  for (let i = 0; i < 100; i++) if ((await env.cluster.getReplicas('b', `k${i}`)).every((r) => r.object !== null)) full++;
  expect(last).toBeLessThanOrEqual(full);
});

test('after a failing batch, every item of the reported prefix is stored on every replica, whichever batch failed', async () => {
  for (const failAt of [1, 4, 7, 12]) {
    const c = await EmbeddedCluster.create(join(env.path, `p${failAt}`), spec);
    try {
      let writes = 0;
      aroundBatchWrites(c, async (write, discard) => {
        await sleep(1);
        if (++writes === failAt) {
          await discard();
          throw new Error('disk full');
        }
        await write();
      });
      let prefix = 0;
      let written = 0;
      const items: PutItem[] = Array.from({ length: 100 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v' }));
      await expect(c.putMany(items, { batchSize: 10, onProgress: (p) => void ({ prefix, written } = p) })).rejects.toThrow('disk full');
      expect(prefix % 10).toBe(0);
      expect(prefix).toBeLessThanOrEqual(written);
      for (let i = 0; i < prefix; i++) expect((await c.getReplicas('b', `k${i}`)).every((r) => r.object !== null), `k${i}`).toBe(true);
    } finally {
      await c.close().catch(() => undefined);
    }
  }
});
