import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import * as api from '../src/index.js';

test('the README example runs against the package root', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aae-api-'));
  try {
    const primary = await api.EmbeddedCluster.create(join(dir, 'dc1'), api.defaultSpec('dc1', { nodeCount: 3, ringSize: 16, nVal: 3, treeSize: 'small' }));
    const dr = await api.EmbeddedCluster.create(join(dir, 'dr1'), api.defaultSpec('dr1', { nodeCount: 3, ringSize: 32, nVal: 2, treeSize: 'small' }));
    await primary.put({ bucket: 'users', key: 'alice', value: '{"city":"Leeds"}' });
    const diff = await api.compareClusters(primary, dr, { pauseMs: 0 });
    expect(diff.inSync).toBe(false);
    expect(diff.differences.map((d) => [Buffer.from(d.key).toString(), d.ahead])).toEqual([['alice', 'blue']]);
    const fixed = await api.repairClusters(primary, dr, { policy: 'lww', pauseMs: 0 });
    expect(fixed.inSync).toBe(true);
    await primary.close();
    await dr.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  for (const ns of ['hash', 'tictac', 'cluster', 'store', 'coverage', 'fold', 'exchange', 'repair', 'aae', 'connect'] as const) {
    expect(Object.keys(api[ns]).length).toBeGreaterThan(0);
  }
});
