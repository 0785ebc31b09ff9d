import { join } from 'node:path';
import { describe, test } from 'vitest';
import { connectEtcd } from '../../src/connect/etcd/etcd-connect.js';
import { KeystoreCluster } from '../../src/connect/keystore-cluster.js';
import { connectRedis } from '../../src/connect/redis/redis-connect.js';
import { clusterSuite, loopbackNode, type ClusterFactory } from '../../src/testing/index.js';
import { useEtcd, useRedis } from '../support/redis.js';
import { tempDir } from './pg-helpers.js';

/**
 * The node-contract suite over keystore nodes of a real Redis and a real etcd, through the
 * loopback codec: one contract, the same suite as a PostgreSQL keystore's (keystore-suite.test.ts),
 * lacking the same things for the same reasons, except binary keys: a Redis key name and an etcd
 * key are bytes, so a keystore key after the prefix may be any bytes.
 */

const redis = useRedis();
const etcd = useEtcd();
let n = 0;

function factory(connect: (ks: string, i: number) => Promise<unknown>): ClusterFactory {
  return async () => {
    const i = n++;
    const dir = await tempDir();
    try {
      const ks = join(dir.path, `ks${i}`);
      await connect(ks, i);
      const cluster = await KeystoreCluster.open(ks, { source: 'follow', wrapNode: loopbackNode, retryMs: 100 });
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

const lacks = ['clock-writes', 'replicas', 'tombstones', 'dominance-writes', 'buckets', 'mutating-folds', 'spec-overrides'] as const;

clusterSuite('keystore of Redis keys, through the loopback codec', factory((ks, i) => connectRedis(ks, { url: redis.server.url, match: `suite${i}:*`, bucket: 'b' })), { describe, test, skip: test.skip }, { lacks: [...lacks] });

clusterSuite('keystore of an etcd prefix, through the loopback codec', factory((ks, i) => connectEtcd(ks, { url: etcd.server.url, prefix: `/suite${i}/`, bucket: 'b' })), { describe, test, skip: test.skip }, { lacks: [...lacks] });
