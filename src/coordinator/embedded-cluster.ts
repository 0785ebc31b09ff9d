/**
 * An embedded cluster: a directory holding `cluster.json` and one LevelDB folder per node (named
 * after the node), all opened in this process. Vnodes are dealt to nodes by `claim`; each node is a
 * LocalNode over its LevelDB, and the cluster reaches it only through the node contract (Cluster),
 * exactly as it would reach a node across a socket.
 *
 * `wrapNode` lets a caller put something between the coordinator and each node (the test suite's
 * loopback codec encodes every request and answer on the way); `modules` adds fold modules the
 * nodes may run (a module loaded from a file for `aae fold`).
 */
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CLUSTER_SPEC_FILE, claim, readClusterConfig, type ClusterSpec } from '../cluster/index.js';
import { AaeError, isAaeError } from '../errors.js';
import { ModuleRegistry, type AnyFoldModule, type FoldQueueLimits, type ModuleSource } from '../fold/index.js';
import { initHash } from '../hash/index.js';
import { LocalNode } from '../local/index.js';
import type { NodeService } from '../node/index.js';
import { LocalVnode, NodeDb, createClusterDir, prepareNode, type StoreParams } from '../store/index.js';
import { Cluster } from './cluster.js';

export interface CloseOptions {
  /** Save the cached trees for the next open (default true). false: the next open rebuilds them, as after a crash. */
  saveTrees?: boolean;
}

export interface OpenOptions {
  /** Fold modules the nodes may run beyond the built-ins. */
  modules?: readonly AnyFoldModule[];
  /** Where the nodes get their modules instead (a plugin host, src/plugin); `modules` is then ignored. */
  source?: ModuleSource;
  /** Each node's fold queue limits. */
  foldLimits?: FoldQueueLimits;
  /** Something between the coordinator and each node (a test codec); the cluster still closes the node itself. */
  wrapNode?: (node: NodeService) => NodeService;
  /** Each node's LevelDB memtable size (NodeDb.open; default LevelDB's 4 MiB). */
  writeBufferSize?: number;
}

export class EmbeddedCluster extends Cluster {
  private closeOptions: CloseOptions = {};

  private constructor(
    readonly dir: string,
    spec: ClusterSpec,
    private readonly local: ReadonlyMap<string, LocalNode>,
    handles: ReadonlyMap<string, NodeService>,
  ) {
    super(spec, handles);
  }

  /**
   * Creates the directory (if needed), cluster.json and every node's LevelDB, so that a crash
   * leaves a whole cluster or none (src/store/create-cluster.ts); returns the open cluster.
   */
  static async create(dir: string, spec: ClusterSpec, options: OpenOptions = {}): Promise<EmbeddedCluster> {
    await createClusterDir(dir, { spec, addresses: {} }, async (at, valid) => EmbeddedCluster.openWith(at, valid, true, {}).then((c) => c.close()));
    return EmbeddedCluster.open(dir, options);
  }

  /** Opens an existing cluster: CLUSTER_NOT_FOUND without cluster.json, STORE_NOT_FOUND when a node folder is not a store, STORE_LOCKED if another process has it open. */
  static async open(dir: string, options: OpenOptions = {}): Promise<EmbeddedCluster> {
    const { spec, addresses } = await readClusterConfig(dir);
    const served = Object.entries(addresses);
    if (served.length > 0) {
      throw new AaeError(
        'INVALID_ARGUMENT',
        `cluster at ${dir} has nodes served elsewhere (${served.map(([n, a]) => `${n} at ${a}`).join(', ')}): open it with openCluster (src/net), which reaches them over the network`,
      );
    }
    return EmbeddedCluster.openWith(dir, spec, false, options);
  }

  private static async openWith(dir: string, spec: ClusterSpec, create: boolean, options: OpenOptions): Promise<EmbeddedCluster> {
    const local = await openLocalNodes(dir, spec, spec.nodes, create, options);
    const handles = new Map<string, NodeService>();
    for (const [name, n] of local) handles.set(name, options.wrapNode === undefined ? n : options.wrapNode(n));
    return new EmbeddedCluster(dir, spec, local, handles);
  }

  /** A node of this process (tools and tests; operations go through the node contract). */
  localNode(name: string): LocalNode {
    const n = this.local.get(name);
    if (n === undefined) throw new AaeError('INVALID_ARGUMENT', `no node '${name}' in cluster ${this.spec.name}`);
    return n;
  }

  /** A vnode of this process (tools and tests; operations go through the node contract). */
  vnode(id: number): LocalVnode {
    const owner = this.claim.owners[id];
    if (owner === undefined) throw new AaeError('INVALID_ARGUMENT', `no vnode ${id} in a ring of ${this.spec.ringSize}`);
    return this.localNode(owner).vnode(id);
  }

  /** Every vnode, by id. */
  vnodes(): LocalVnode[] {
    return Array.from({ length: this.spec.ringSize }, (_, v) => this.vnode(v));
  }

  /** The raw LevelDB of a node (benchmarks and tools; writes must go through the nodes). */
  nodeDb(node: string): NodeDb {
    return this.localNode(node).db;
  }

  /** Closes every node (after queued writes; saving trees unless told not to). */
  override async close(options: CloseOptions = {}): Promise<void> {
    this.closeOptions = options;
    await super.close();
  }

  /** The local nodes hold the stores (a wrapped handle may only be a codec): each is closed with the options given. */
  protected override async closeNodes(): Promise<void> {
    const errors: unknown[] = [];
    for (const name of this.spec.nodes) await this.local.get(name)!.close(this.closeOptions).catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}

/**
 * Opens the LevelDB stores of `names` (nodes of `spec` served from `dir`) as LocalNodes, each
 * checked against the ring it was written under. The embedded cluster opens all of them; a cluster
 * of local and served nodes (src/net) opens those without an address; `aae node serve` opens one.
 * On failure nothing stays open, and a create removes the node folders it made.
 */
export async function openLocalNodes(
  dir: string,
  spec: ClusterSpec,
  names: readonly string[],
  create: boolean,
  options: Omit<OpenOptions, 'wrapNode'> = {},
): Promise<Map<string, LocalNode>> {
  await initHash();
  const c = claim(spec.ringSize, spec.nodes, spec.nVal);
  const dbs = new Map<string, NodeDb>();
  /** Nodes whose store this call created: their vnodes start with empty, current trees. */
  const fresh = new Set<string>();
  try {
    for (const node of names) {
      const location = join(dir, node);
      if (!(await exists(location))) fresh.add(node);
      const db = await NodeDb.open(node, location, { createIfMissing: create, ...(options.writeBufferSize === undefined ? {} : { writeBufferSize: options.writeBufferSize }) }).catch((e: unknown) => {
        throw isAaeError(e, 'STORE_NOT_FOUND') ? new AaeError('STORE_NOT_FOUND', `cluster at ${dir}: ${e.message}`, { cause: e, details: { ...e.details, dir } }) : e;
      });
      dbs.set(node, db);
      const held = c.owners.flatMap((owner, v) => (owner === node ? [v] : []));
      await prepareNode(db, spec, held, { specFile: join(dir, CLUSTER_SPEC_FILE), creating: create });
    }
    const params: StoreParams = spec;
    const modules = options.source ?? (options.modules === undefined || options.modules.length === 0 ? undefined : new ModuleRegistry().with(options.modules));
    const local = new Map<string, LocalNode>();
    for (const node of names) {
      const db = dbs.get(node)!;
      const vnodes: LocalVnode[] = [];
      for (let v = 0; v < spec.ringSize; v++) if (c.owners[v] === node) vnodes.push(await LocalVnode.open(db, v, params, { fresh: fresh.has(node) }));
      const n = new LocalNode(node, db, vnodes, {
        cluster: spec.name,
        params: { ringSize: spec.ringSize, nVal: spec.nVal, treeSize: spec.treeSize, hashMethod: spec.hashMethod, seed: spec.seed },
        ...(modules === undefined ? {} : { modules }),
        ...(options.foldLimits === undefined ? {} : { foldLimits: options.foldLimits }),
      });
      local.set(node, n);
    }
    return local;
  } catch (e) {
    for (const db of dbs.values()) await db.close().catch(() => undefined);
    // The node folders this call made hold nothing yet: a refused create removes them.
    if (create) for (const node of fresh) await rm(join(dir, node), { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
