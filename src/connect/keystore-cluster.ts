import { readClusterSpec } from '../cluster/index.js';
import { Cluster } from '../coordinator/index.js';
import type { NodeService } from '../node/index.js';
import { KeystoreNode, type KeystoreNodeOptions } from './keystore-node.js';

/**
 * A keystore directory as a cluster: the coordinator over its one node, a KeystoreNode
 * (keystore-node.ts). `aae compare`, `inspect`, `fold`, `repair` and `sync` open keystores this
 * way (src/cli/open-cluster.ts), so everything they do reaches the keystore through the node
 * contract, as it reaches any node.
 */
export class KeystoreCluster extends Cluster {
  private constructor(
    readonly dir: string,
    readonly keystore: KeystoreNode,
    spec: ConstructorParameters<typeof Cluster>[0],
    handle: NodeService,
  ) {
    super(spec, new Map([[keystore.name, handle]]));
  }

  /** `wrapNode` puts something between the coordinator and the node (a test's loopback codec); the cluster still closes the node itself. */
  static async open(dir: string, options: KeystoreNodeOptions & { wrapNode?: (node: NodeService) => NodeService } = {}): Promise<KeystoreCluster> {
    const spec = await readClusterSpec(dir);
    const node = await KeystoreNode.open(dir, options);
    return new KeystoreCluster(dir, node, spec, options.wrapNode === undefined ? node : options.wrapNode(node));
  }

  protected override async closeNodes(): Promise<void> {
    await this.keystore.close();
  }
}
