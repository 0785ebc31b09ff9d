import { join } from 'node:path';
import { describe, test } from 'vitest';
import { KeystoreCluster } from '../../src/connect/keystore-cluster.js';
import { connectPostgres } from '../../src/connect/pg/pg-connect.js';
import { clusterSuite, loopbackNode, type ClusterFactory } from '../../src/testing/index.js';
import { usePostgres } from '../support/postgres.js';
import { dropSlots, sql, tempDir } from './pg-helpers.js';

/**
 * The node-contract suite over keystore nodes of real PostgreSQL tables, every request and answer
 * through the loopback codec: the parts of the contract a keystore has. What it lacks, and why:
 * - clock-writes: what a keystore stores is the row; its clocks are the source's positions, not
 *   the clocks a writer gives or the cluster mints;
 * - replicas: a keystore is one replica (nVal 1) of its table;
 * - tombstones: a delete erases the row (docs/CONNECT.md), so there is no tombstone to read back;
 * - dominance-writes: rows carry no clocks to dominate; a keystore writes by compare-and-set;
 * - binary-keys: a table's key is text;
 * - buckets: a keystore holds the one bucket of its table;
 * - mutating-folds: a keystore's heads change only by its feed;
 * - spec-overrides: a keystore's ring, tree size, hash method and seed are fixed (ring 8, large, value, 0).
 * Its own conditional writes, reads of unapplied rows and refusals are in keystore-node.test.ts.
 */

const pgs = usePostgres();
let n = 0;

const keystores: ClusterFactory = async () => {
  const url = await pgs.db(`suite${n++}`);
  await sql(url, 'CREATE TABLE kv (id text PRIMARY KEY, val text)');
  const dir = await tempDir();
  try {
    const ks = join(dir.path, `ks${n}`);
    await connectPostgres(ks, { url, table: 'kv', bucket: 'b' });
    const cluster = await KeystoreCluster.open(ks, { source: 'follow', wrapNode: loopbackNode, retryMs: 100 });
    return {
      cluster,
      dispose: async () => {
        await cluster.close();
        await dropSlots(url);
        await dir.dispose();
      },
    };
  } catch (e) {
    await dir.dispose();
    throw e;
  }
};

clusterSuite('keystore of a PostgreSQL table, through the loopback codec', keystores, { describe, test, skip: test.skip }, {
  lacks: ['clock-writes', 'replicas', 'tombstones', 'dominance-writes', 'binary-keys', 'buckets', 'mutating-folds', 'spec-overrides'],
});
