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
import { access, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CLUSTER_SPEC_FILE, claim, parseClusterSpec, readClusterSpec, writeClusterSpec, type ClusterSpec } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { ModuleRegistry, type AnyFoldModule, type FoldQueueLimits } from '../fold/index.js';
import { initHash } from '../hash/index.js';
import { LocalNode } from '../local/index.js';
import type { NodeService } from '../node/index.js';
import { LocalVnode, NodeDb, checkRingStamp, type StoreParams } from '../store/index.js';
import { Cluster } from './cluster.js';

export interface CloseOptions {
  /** Save the cached trees for the next open (default true). false: the next open rebuilds them, as after a crash. */
  saveTrees?: boolean;
}

export interface OpenOptions {
  /** Fold modules the nodes may run beyond the built-ins. */
  modules?: readonly AnyFoldModule[];
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

  /** Creates the directory (if needed), cluster.json and every node's LevelDB; returns the open cluster. */
  static async create(dir: string, spec: ClusterSpec, options: OpenOptions = {}): Promise<EmbeddedCluster> {
    const valid = parseClusterSpec(spec, 'cluster spec');
    if (await exists(join(dir, CLUSTER_SPEC_FILE))) {
      throw new AaeError('CLUSTER_EXISTS', `a cluster already exists at ${dir}`);
    }
    try {
      await ensureDir(dir);
    } catch (e) {
      throw new AaeError('STORE_IO', `cannot create ${dir}: ${(e as Error).message}`, { cause: e });
    }
    await writeClusterSpec(dir, valid);
    try {
      return await EmbeddedCluster.openWith(dir, valid, true, options);
    } catch (e) {
      // A refused create (node stores of another ring already there, a disk error) leaves no spec
      // behind: otherwise the next create says CLUSTER_EXISTS and every open refuses the data.
      await rm(join(dir, CLUSTER_SPEC_FILE), { force: true }).catch(() => undefined);
      throw e;
    }
  }

  /** Opens an existing cluster: CLUSTER_NOT_FOUND without cluster.json, STORE_LOCKED if another process has it open. */
  static async open(dir: string, options: OpenOptions = {}): Promise<EmbeddedCluster> {
    const spec = await readClusterSpec(dir);
    return EmbeddedCluster.openWith(dir, spec, false, options);
  }

  private static async openWith(dir: string, spec: ClusterSpec, create: boolean, options: OpenOptions): Promise<EmbeddedCluster> {
    await initHash();
    const c = claim(spec.ringSize, spec.nodes, spec.nVal);
    const dbs = new Map<string, NodeDb>();
    /** Nodes whose store this call created: their vnodes start with empty, current trees. */
    const fresh = new Set<string>();
    try {
      for (const node of spec.nodes) {
        const location = join(dir, node);
        const existed = await exists(location);
        if (!create && !existed) {
          throw new AaeError('STORE_IO', `cluster at ${dir}: node ${node} has no store (${location} is missing)`);
        }
        if (!existed) fresh.add(node);
        const db = await NodeDb.open(node, location, { createIfMissing: create, ...(options.writeBufferSize === undefined ? {} : { writeBufferSize: options.writeBufferSize }) });
        dbs.set(node, db);
        const held = c.owners.flatMap((owner, v) => (owner === node ? [v] : []));
        await checkRingStamp(db, { ringSize: spec.ringSize, nVal: spec.nVal, hashMethod: spec.hashMethod, seed: spec.seed, vnodes: held }, { specFile: join(dir, CLUSTER_SPEC_FILE), creating: create });
      }
      const params: StoreParams = spec;
      const modules = options.modules === undefined || options.modules.length === 0 ? undefined : new ModuleRegistry().with(options.modules);
      const local = new Map<string, LocalNode>();
      const handles = new Map<string, NodeService>();
      for (const node of spec.nodes) {
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
        handles.set(node, options.wrapNode === undefined ? n : options.wrapNode(n));
      }
      return new EmbeddedCluster(dir, spec, local, handles);
    } catch (e) {
      for (const db of dbs.values()) await db.close().catch(() => undefined);
      // The node folders this call made hold nothing yet: a refused create removes them.
      if (create) for (const node of fresh) await rm(join(dir, node), { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
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
 * mkdir -p, one level at a time. Node's recursive mkdir spins forever on some pseudo file systems
 * (under /proc it answers ENOENT for the child and EEXIST for the parent, and retries); this walks
 * up once and fails with the file system's answer.
 */
async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw e;
    await ensureDir(dirname(dir));
    await mkdir(dir);
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
