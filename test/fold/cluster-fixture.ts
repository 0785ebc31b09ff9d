import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSpec, type SpecOverrides } from '../../src/cluster/index.js';
import type { EmbeddedCluster, OpenOptions, PutItem } from '../../src/coordinator/index.js';
import { createCluster } from '../support/clusters.js';

/** Temp-dir embedded clusters for the runner tests; `cleanup` closes them and removes the dirs. */

export interface Clusters {
  make(name: string, overrides: SpecOverrides, items: readonly PutItem[], options?: OpenOptions): Promise<EmbeddedCluster>;
  cleanup(): Promise<void>;
}

export function clusters(): Clusters {
  const open: EmbeddedCluster[] = [];
  const dirs: string[] = [];
  return {
    async make(name, overrides, items, options = {}) {
      const dir = await mkdtemp(join(tmpdir(), `aae-fold-${name}-`));
      dirs.push(dir);
      const c = await createCluster(join(dir, name), defaultSpec(name, { treeSize: 'small', ...overrides }), options);
      open.push(c);
      await c.putMany(items);
      return c;
    },
    async cleanup() {
      for (const c of open.splice(0)) await c.close();
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}

/** A small data set with fixed clocks (so two clusters hold identical versions), tombstones, index entries and a binary key. */
export function sampleItems(n: number): PutItem[] {
  const items: PutItem[] = [];
  for (let i = 0; i < n; i++) {
    const bucket = ['users', 'orders', 'logs'][i % 3]!;
    items.push({
      bucket,
      key: i === 7 ? Uint8Array.of(0xff, 0x00, i) : `k${String(i).padStart(4, '0')}`,
      value: 'v'.repeat((i * 37) % 1500),
      clock: { entries: [['a', 1 + (i % 4)]], lastModified: 1_000 + i },
      deleted: i % 11 === 0,
      indexes: bucket === 'users' && i % 11 !== 0 ? [['age_int', String(20 + (i % 50))], ['name_bin', `n${i % 17}`]] : [],
    });
  }
  return items;
}
