/**
 * A cluster as a coordinator sees it through the node contract: its parameters, which node owns
 * each vnode, and a handle on each node. The fold runner plans over this and sends each node its
 * share; the write coordinator routes each replica's writes to the node that owns it. The embedded
 * cluster (nodes in this process), a cluster of served nodes and a keystore all present one.
 */
import type { NodeParams, NodeService } from './contract.js';

export interface ClusterNodes {
  /** The cluster's name (cluster.json). */
  readonly name: string;
  readonly params: NodeParams;
  /** vnode → the name of the node that owns it; length ringSize. */
  readonly owners: readonly string[];
  /** The node called `name` (one of `owners`). */
  node(name: string): NodeService;
  /** Nodes found unreachable: coverage plans route around them (absent: every node is taken as up). */
  readonly unavailable?: ReadonlySet<string>;
  /** A fold runner that found `name` unreachable reports it here, so later plans route around it. */
  markUnavailable?(name: string): void;
}
