/**
 * One vnode's trees as an exchange source, for comparing the replicas inside one cluster.
 *
 * Two vnodes share the keyspaces (IndexNs) that both hold; an exchange between them compares the
 * XOR of their trees over exactly those keyspaces, and lists keys of those keyspaces only. With
 * vnodes v and v+d (d < nVal) sharing nVal−d keyspaces, exchanging every such pair compares each
 * keyspace's replicas pairwise exactly once (see replica-pairs.ts).
 *
 * Every answer is a fold run on the vnode's own node, over just that vnode and those keyspaces (the
 * same modules a cluster source uses, given shares instead of a coverage plan): full scope answers
 * from the cached trees; a range scope folds the vnode's heads (no values) into a tree of the
 * scope's size, afresh for every request, so each round is a new look at the data.
 */
import type { ExchangeScope, ExchangeSource, FetchOptions, HashesRequest, KeyClock, RangeScope, SourceDescription } from '../exchange/index.js';
import { checkHashesRequest, hashesOfTree } from '../exchange/index.js';
import { fetchClocksNval, fetchClocksRange, mergeBranchNval, mergeRootNval, mergeTreeRange, mergeWordsNval, runFold, toRuns, type RunFoldOptions } from '../fold/index.js';
import type { ClusterNodes, FoldShare } from '../node/index.js';
import { TicTacTree, segmentCountOf } from '../tictac/index.js';
import { rangeQuery } from './cluster-source.js';

/** fetch_clocks folds may return this many keys at most (the fold's own ceiling). */
const MAX_CLOCKS = 1_000_000;

export class VnodeSource implements ExchangeSource {
  private readonly shares: readonly FoldShare[];

  constructor(
    readonly cluster: ClusterNodes,
    readonly vnode: number,
    /** The keyspaces compared (all held by the vnode). */
    readonly keyspaces: readonly number[],
  ) {
    this.shares = [{ vnode, keyspaces }];
  }

  get label(): string {
    return `vnode ${this.vnode}@${this.cluster.owners[this.vnode]}`;
  }

  describe(): SourceDescription {
    const { treeSize, hashMethod, seed } = this.cluster.params;
    return { treeSize, hashMethod, seed, capabilities: { hashes: true } };
  }

  private run(signal: AbortSignal | undefined): RunFoldOptions {
    return { shares: this.shares, ...(signal === undefined ? {} : { signal }) };
  }

  async fetchRoot(scope: ExchangeScope, options: FetchOptions): Promise<Uint32Array> {
    if (scope.kind === 'range') return (await this.buildRange(scope, options.signal)).root();
    const { acc } = await runFold(this.cluster, mergeRootNval, {}, this.run(options.signal));
    return acc ?? new Uint32Array(TicTacTree.create(this.cluster.params.treeSize).branchCount);
  }

  async fetchBranches(scope: ExchangeScope, ids: readonly number[], options: FetchOptions): Promise<Map<number, Uint32Array>> {
    if (ids.length === 0) return new Map();
    if (scope.kind === 'range') return (await this.buildRange(scope, options.signal)).branches(ids);
    const { acc } = await runFold(this.cluster, mergeBranchNval, { branches: [...ids] }, this.run(options.signal));
    return new Map(acc);
  }

  async fetchHashes(scope: ExchangeScope, request: HashesRequest, options: FetchOptions): Promise<Uint32Array> {
    if (scope.kind === 'range') return hashesOfTree(await this.buildRange(scope, options.signal), request);
    checkHashesRequest(request, segmentCountOf(this.cluster.params.treeSize));
    if (request.ids.length === 0) return new Uint32Array(0);
    const { acc } = await runFold(this.cluster, mergeWordsNval, { width: request.width, runs: toRuns(request.ids) }, this.run(options.signal));
    return acc ?? new Uint32Array(request.ids.length);
  }

  async fetchClocks(scope: ExchangeScope, segments: readonly number[], options: FetchOptions): Promise<KeyClock[]> {
    if (segments.length === 0) return [];
    if (scope.kind === 'full') {
      const { acc } = await runFold(this.cluster, fetchClocksNval, { segments: [...segments], maxResults: MAX_CLOCKS }, this.run(options.signal));
      return acc;
    }
    const query = { ...rangeQuery(scope), segments: { ids: [...segments], treeSize: scope.treeSize }, maxResults: MAX_CLOCKS };
    const { acc } = await runFold(this.cluster, fetchClocksRange, query, this.run(options.signal));
    return acc;
  }

  private async buildRange(scope: RangeScope, signal: AbortSignal | undefined): Promise<TicTacTree> {
    const { acc } = await runFold(this.cluster, mergeTreeRange, { ...rangeQuery(scope), treeSize: scope.treeSize }, this.run(signal));
    return acc;
  }
}
