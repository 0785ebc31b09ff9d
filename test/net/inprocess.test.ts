import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { Cluster, EmbeddedCluster } from '../../src/coordinator/index.js';
import { NodeServer, RemoteNode } from '../../src/net/index.js';
import type { NodeService } from '../../src/node/index.js';
import { clusterSuite, type ClusterFactory } from '../../src/testing/index.js';

/** Served nodes in this process: the suite's fastest check of the codecs; test/net/served-suite runs them as processes. */
const factory: ClusterFactory = async (overrides) => {
  const dir = await mkdtemp(join(tmpdir(), 'aae-net-'));
  const spec = defaultSpec('suite', overrides);
  const local = await EmbeddedCluster.create(join(dir, 'c'), spec);
  const servers: NodeServer[] = [];
  const remotes = new Map<string, NodeService>();
  for (const name of spec.nodes) {
    const s = await NodeServer.start({ node: local.localNode(name), name, listen: '127.0.0.1:0', transport: { kind: 'insecure' } });
    servers.push(s);
    remotes.set(name, new RemoteNode(name, s.address, { transport: { kind: 'insecure' } }));
  }
  const cluster = new Cluster(spec, remotes);
  return {
    cluster,
    async dispose() {
      await cluster.close().catch(() => undefined);
      for (const s of servers) await s.stop(1000);
      await local.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

clusterSuite('served nodes in this process', factory, { describe, test });
