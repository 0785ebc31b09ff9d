import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { defaultSpec, type SpecOverrides } from '../../src/cluster/index.js';
import type { EmbeddedCluster } from '../../src/coordinator/index.js';
import { createCluster } from '../support/clusters.js';

/**
 * Per-test embedded clusters in a fresh temp directory, all closed and removed after each test.
 * Call once at the top of a test file; `cluster(name, ringSize, nVal, nodes)` makes one.
 */
export function useClusters(
  prefix: string,
): (name: string, ringSize: number, nVal: number, nodes: number, overrides?: SpecOverrides) => Promise<EmbeddedCluster> {
  let dir = '';
  const open: EmbeddedCluster[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await rm(dir, { recursive: true, force: true });
  });
  return async (name, ringSize, nVal, nodes, overrides = {}) => {
    const c = await createCluster(join(dir, name), defaultSpec(name, { ringSize, nVal, nodeCount: nodes, treeSize: 'small', ...overrides }));
    open.push(c);
    return c;
  };
}

/** Exchanges without the confirmation pause: nothing writes during these tests. */
export const fast = { pauseMs: 0, jitter: false } as const;
export const text = (u: Uint8Array): string => Buffer.from(u).toString();
