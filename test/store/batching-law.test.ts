import fc from 'fast-check';
import { expect, test } from 'vitest';
import { defaultSpec, type Clock } from '../../src/cluster/index.js';
import { EmbeddedCluster, type PutItem } from '../../src/coordinator/index.js';
import { useFileTempDir } from './helpers.js';

/**
 * The clocks a sequence of writes makes do not depend on how it is batched: loading it as one
 * flush, or one item a flush, leaves every replica of every key with the same clock and value.
 * A clockless item mints from what each replica holds when it lands, whatever came before it in
 * the same flush (clocked items, tombstones, writes to only some replicas).
 */

const spec = defaultSpec('batch', { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' });
const dir = useFileTempDir();
let run = 0;

const clockArb = fc.constantFrom<Clock>({ entries: [['x', 1]], lastModified: 10 }, { entries: [['x', 5]], lastModified: 11 }, { entries: [['a', 2], ['x', 3]], lastModified: 12 });
const itemArb = fc.record({
  key: fc.nat(2),
  clock: fc.option(clockArb, { freq: 2 }),
  deleted: fc.boolean(),
  replicas: fc.integer({ min: 1, max: 3 }),
});

test('law: one flush or one item a flush, every replica ends with the same clock and value', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 12 }), async (raw) => {
      const items: PutItem[] = raw.map((r, i) => {
        const base: PutItem = { bucket: 'b', key: `k${r.key}`, value: r.deleted ? undefined : `v${i}`, deleted: r.deleted, replicas: r.replicas, lastModified: 100 + i };
        return r.clock === null ? base : { ...base, clock: r.clock };
      });
      const state = async (batchSize: number): Promise<string[]> => {
        const cluster = await EmbeddedCluster.create(`${dir.path}/c${run++}`, spec);
        try {
          await cluster.putMany(items, { batchSize });
          const out: string[] = [];
          for (let k = 0; k < 3; k++) {
            for (const r of await cluster.getReplicas('b', `k${k}`)) {
              out.push(r.object === null ? `k${k}@${r.vnode}: none` : `k${k}@${r.vnode}: ${JSON.stringify(r.object.clock.entries)} ${r.object.deleted ? 'deleted' : new TextDecoder().decode(r.object.value)}`);
            }
          }
          return out;
        } finally {
          await cluster.close();
        }
      };
      expect(await state(items.length)).toEqual(await state(1));
    }),
    { numRuns: 25 },
  );
});
