import { describe, expect, test } from 'vitest';
import { compareReplicas, repairReplicas } from '../../src/aae/index.js';
import { makeClock } from '../../src/cluster/index.js';
import { fast, useClusters } from './clusters.js';

/**
 * The fault campaign's repairs that could never succeed: a key in a bucket that starts with U+FEFF
 * (the bucket read back without it, so repair exited 1 forever), and a clock whose actor is only
 * U+FEFF (read back empty: CLOCK_INVALID failed the whole repair).
 */
describe('repair of keys whose text starts with U+FEFF', () => {
  const cluster = useClusters('aae-bom-');

  test('a BOM bucket and a BOM actor on one replica only: one repair heals them, compare agrees', async () => {
    const c = await cluster('bom', 8, 2, 2);
    await c.put({ bucket: '\ufeffb', key: 'k', value: 'v', replicas: 1 });
    await c.put({ bucket: 'b', key: 'k2', value: 'v', clock: makeClock([['\ufeff', 1], ['\ufeffa', 1], ['a', 1]], 5), replicas: 1 });
    expect((await compareReplicas(c, fast)).inSync).toBe(false);
    const r = await repairReplicas(c, { ...fast, policy: 'lww' });
    expect(r.inSync).toBe(true);
    expect((await compareReplicas(c, fast)).inSync).toBe(true);
    for (const rep of await c.getReplicas('\ufeffb', 'k')) expect(rep.object?.bucket).toBe('\ufeffb');
    for (const rep of await c.getReplicas('b', 'k2')) expect(rep.object?.clock.entries.map((e) => e[0]).sort()).toEqual(['\ufeff', '\ufeffa', 'a'].sort());
  });
});
