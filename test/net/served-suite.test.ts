import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { openCluster } from '../../src/net/index.js';
import { clusterSuite, type ClusterFactory } from '../../src/testing/index.js';
import { clientDir, serveCluster } from '../support/served.js';

/**
 * The node-contract suite over real served nodes: each node of each fresh cluster is its own
 * `aae node serve` process with its own LevelDB, and the suite's cluster is opened from a
 * directory that holds nothing but a cluster.json pointing at them.
 */
const factory: ClusterFactory = async (overrides) => {
  const dir = await mkdtemp(join(tmpdir(), 'aae-served-'));
  const spec = defaultSpec('suite', overrides);
  await (await EmbeddedCluster.create(join(dir, 'server'), spec)).close();
  const served = await serveCluster(join(dir, 'server'), spec);
  try {
    const cluster = await openCluster(await clientDir(join(dir, 'client'), spec, served.addresses));
    return {
      cluster,
      async dispose() {
        await cluster.close().catch(() => undefined);
        await served.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await served.stop();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
};

clusterSuite('nodes served by aae node serve processes', factory, { describe, test });
