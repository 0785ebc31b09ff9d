import { describe, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { clusterSuite, loopbackNode, type ClusterFactory } from '../../src/testing/index.js';
import { tempDir } from './helpers.js';

/** The node-contract suite over embedded clusters: nodes called directly, and through the loopback codec. */
function embedded(loopback: boolean): ClusterFactory {
  return async (overrides) => {
    const dir = await tempDir();
    try {
      const cluster = await EmbeddedCluster.create(dir.path, defaultSpec('suite', overrides), loopback ? { wrapNode: loopbackNode } : {});
      return {
        cluster,
        dispose: async () => {
          await cluster.close();
          await dir.dispose();
        },
      };
    } catch (e) {
      await dir.dispose();
      throw e;
    }
  };
}

clusterSuite('embedded cluster, nodes called directly', embedded(false), { describe, test });
clusterSuite('embedded cluster, every request and answer through the loopback codec', embedded(true), { describe, test });
