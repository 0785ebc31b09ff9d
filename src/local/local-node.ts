/**
 * A node in this process: the node contract over one node's LevelDB and its vnodes.
 *
 * Folds run here, where the data is (src/fold/execute.ts), in this node's own fold queue: two
 * clusters whose nodes share a name never share a queue, and every caller of this node shares its
 * limits. Reads and writes go to the vnode named in the request, after the node checks it holds it
 * (and, for every key, the keyspace the key belongs to).
 *
 * A coordinator in this process may pass hints (where each key lives, its encoded head) so a key's
 * replicas share that work; the node trusts them because they come from its own process. A server
 * exposing this node to the network strips them (src/net), so remote callers cannot store a head
 * that disagrees with its object.
 */
import { validateObjectKey, type IndexN } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { FoldQueue, ModuleRegistry, executeFold, type FoldQueueLimits, type ModuleSource } from '../fold/index.js';
import {
  NODE_CONTRACT,
  type CallOptions,
  type FoldEvent,
  type FoldRequest,
  type HeadsAnswer,
  type NodeInfo,
  type NodeParams,
  type NodeService,
  type ObjectsAnswer,
  type ReadRequest,
  type WriteAnswer,
  type WriteRequest,
} from '../node/index.js';
import { locateKey, planWrite, validateWrite, type LocalVnode, type LocatedKey, type NodeDb, type PlannedWrite } from '../store/index.js';
import { SOFTWARE } from '../version.js';

export interface LocalNodeOptions {
  /** The cluster's name (cluster.json). */
  cluster: string;
  params: NodeParams;
  /** The modules this node runs (default: the built-ins): a registry, or a plugin host that adds deployed plugins. */
  modules?: ModuleSource;
  foldLimits?: FoldQueueLimits;
  /** Whether mutating folds (reap_tombs, erase_keys told to act) may run here (default true). */
  allowMutations?: boolean;
}

const NEVER = new AbortController().signal;

export class LocalNode implements NodeService {
  readonly queue: FoldQueue;
  private readonly modules: ModuleSource;
  private readonly held: ReadonlyMap<number, { vnode: LocalVnode; keyspaces: ReadonlySet<number> }>;
  private closed = false;

  constructor(
    readonly name: string,
    readonly db: NodeDb,
    vnodes: readonly LocalVnode[],
    private readonly options: LocalNodeOptions,
  ) {
    this.queue = new FoldQueue(name, options.foldLimits);
    this.modules = options.modules ?? new ModuleRegistry();
    this.held = new Map(vnodes.map((v) => [v.id, { vnode: v, keyspaces: new Set(v.indexNs.map((n: IndexN) => n.keyspace)) }]));
  }

  /** The vnodes this node holds, ascending. */
  get vnodeIds(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** One of this node's vnodes (for tools and tests in this process; a coordinator uses the contract). */
  vnode(id: number): LocalVnode {
    return this.entry(id).vnode;
  }

  private entry(id: number): { vnode: LocalVnode; keyspaces: ReadonlySet<number> } {
    this.checkOpen();
    const e = this.held.get(id);
    if (e === undefined) throw new AaeError('NODE_REQUEST_INVALID', `node ${this.name} holds no vnode ${id}`, { details: { node: this.name, vnode: id } });
    return e;
  }

  private checkOpen(): void {
    if (this.closed) throw new AaeError('STORE_CLOSED', `node ${this.name} is closed`);
  }

  async info(): Promise<NodeInfo> {
    this.checkOpen();
    const vnodes = this.vnodeIds;
    return {
      name: this.name,
      cluster: this.options.cluster,
      contract: { major: NODE_CONTRACT.major, minor: NODE_CONTRACT.minor },
      software: SOFTWARE,
      params: { ...this.options.params },
      vnodes,
      capabilities: { treeCache: true, headFold: true, hashSizeFold: true, objectFold: true, indexFold: true, writes: true },
      modules: this.modules.list(),
      folds: { ...this.queue.load, maxRunning: this.queue.maxRunning, maxWaiting: this.queue.maxWaiting },
      trees: vnodes.flatMap((id) => this.held.get(id)!.vnode.treeStates().map((t) => ({ vnode: id, ...t }))),
    };
  }

  fold(request: FoldRequest, options: CallOptions = {}): AsyncIterable<FoldEvent> {
    return this.runFold(request, options.signal ?? NEVER);
  }

  private async *runFold(request: FoldRequest, signal: AbortSignal): AsyncGenerator<FoldEvent> {
    this.checkOpen();
    // Held until the fold ends: a plugin reloaded meanwhile finishes this fold on the version it started on.
    const lease = this.modules.acquire(request.module, request.version, request.digest);
    try {
      const { module } = lease;
      if (module.info.mutates && this.options.allowMutations === false) {
        throw new AaeError('FOLD_MUTATION_REFUSED', `node ${this.name} does not run mutating folds (${module.info.name})`, { details: { node: this.name, module: module.info.name } });
      }
      for (const share of request.vnodes) {
        const { keyspaces } = this.entry(share.vnode);
        for (const k of share.keyspaces) {
          if (!keyspaces.has(k)) throw new AaeError('NODE_REQUEST_INVALID', `vnode ${share.vnode} on node ${this.name} does not hold keyspace ${k}`, { details: { node: this.name, vnode: share.vnode, keyspace: k } });
        }
      }
      const session = await module.open(request.query, { signal, node: this.name });
      try {
        yield* executeFold({
          node: this.name,
          session,
          shares: request.vnodes,
          vnode: (id) => this.vnode(id),
          nVal: this.options.params.nVal,
          queue: this.queue,
          signal,
          emits: request.emit === true,
        });
      } finally {
        session.close();
      }
    } finally {
      lease.release();
    }
  }

  /** Where each key lives: the caller's hints, or worked out here; every key must belong to the vnode. */
  private locate(vnodeId: number, keys: ReadRequest['keys'], locs: ReadRequest['locs']): LocatedKey[] {
    const { keyspaces } = this.entry(vnodeId);
    const out = locs ?? keys.map((k) => {
      validateObjectKey(k);
      return locateKey(k.bucket, k.key, this.options.params);
    });
    if (out.length !== keys.length) throw new AaeError('NODE_REQUEST_INVALID', `${keys.length} keys but ${out.length} locations`);
    for (const l of out) if (!keyspaces.has(l.keyspace)) this.notHeld(vnodeId, l.keyspace);
    return out as LocatedKey[];
  }

  private notHeld(vnode: number, keyspace: number): never {
    throw new AaeError('NODE_REQUEST_INVALID', `vnode ${vnode} on node ${this.name} does not hold keyspace ${keyspace}`, { details: { node: this.name, vnode, keyspace } });
  }

  async readHeads(request: ReadRequest): Promise<HeadsAnswer> {
    const locs = this.locate(request.vnode, request.keys, request.locs);
    return this.vnode(request.vnode).readHeads(locs);
  }

  async readObjects(request: ReadRequest): Promise<ObjectsAnswer> {
    const locs = this.locate(request.vnode, request.keys, request.locs);
    return { objects: await this.vnode(request.vnode).readObjects(request.keys, locs) };
  }

  async write(request: WriteRequest): Promise<WriteAnswer> {
    const { vnode, keyspaces } = this.entry(request.vnode);
    const writes = request.writes;
    // Entries with hints (a coordinator in this process) are already what the vnode's write step
    // reads: they go as they are, one check each. Others are validated and located here.
    let plans: PlannedWrite[] | undefined;
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      if (w.hint !== undefined && plans === undefined) {
        if (!keyspaces.has(w.hint.loc.keyspace)) this.notHeld(request.vnode, w.hint.loc.keyspace);
        continue;
      }
      plans ??= writes.slice(0, i).map((x) => x as PlannedWrite);
      let loc: LocatedKey;
      if (w.hint !== undefined) loc = w.hint.loc as LocatedKey;
      else {
        validateWrite(w.op);
        loc = w.op.kind === 'put' ? locateKey(w.op.object.bucket, w.op.object.key, this.options.params) : locateKey(w.op.bucket, w.op.key, this.options.params);
      }
      if (!keyspaces.has(loc.keyspace)) this.notHeld(request.vnode, loc.keyspace);
      plans.push(planWrite(w.op, loc, w.hint?.head, w.basis));
    }
    const previous = await vnode.writePlanned(plans ?? (writes as readonly PlannedWrite[] as PlannedWrite[]));
    return { previous: request.noResult === true ? [] : previous };
  }

  /** Closes every vnode (saving trees unless told not to), then the node's LevelDB. */
  async close(options: { saveTrees?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: unknown[] = [];
    for (const { vnode } of this.held.values()) await vnode.close(options).catch((e: unknown) => errors.push(e));
    await this.db.close().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}
