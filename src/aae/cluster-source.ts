/**
 * A cluster as an exchange source, through its coverage folds — the fold runs where the data is,
 * and only roots, branches, words and key clocks come back:
 *
 * - full scope: merge_root_nval and merge_branch_nval over the cached trees (no scan, cost
 *   independent of the data), fetch_clocks_nval for the keys of dirty segments (one seek per
 *   segment and keyspace);
 * - range scope: merge_tree_range builds a tree of the scope's size over the bucket / key range /
 *   modified range, afresh for every request — each round is a new look at the data, which is what
 *   makes its confirmation mean something (a round costs one fold of the range) — and
 *   fetch_clocks_range lists the keys.
 *
 * The coverage offset is fixed for the source's lifetime: a root from one set of replicas and
 * branches from another would not describe one tree. Offsets 0…nVal−1 ask different replicas.
 */
import { AaeError } from '../errors.js';
import { checkHashesRequest, hashesOfTree, type ExchangeScope, type ExchangeSource, type FetchOptions, type HashesRequest, type KeyClock, type RangeScope, type SourceDescription, type SyndromeRequest } from '../exchange/index.js';
import {
  fetchClocksNval,
  fetchClocksRange,
  mergeBranchNval,
  mergeRootNval,
  mergeTreeRange,
  mergeWordsNval,
  runFold,
  sketchWordsNval,
  syndromeWordsNval,
  toRuns,
  type RunFoldOptions,
} from '../fold/index.js';
import type { ClusterNodes } from '../node/index.js';
import { segmentCountOf, syndromeWords, type TicTacTree } from '../tictac/index.js';

/** fetch_clocks folds may return this many keys at most (the fold's own ceiling). */
const MAX_CLOCKS = 1_000_000;

export interface ClusterSourceOptions {
  /** Coverage offset (0 … ringSize·nVal − 1); random once per source when absent. */
  offset?: number;
  /** Passed to every fold (scheduler, selector, unavailable nodes, timeouts). */
  fold?: Omit<RunFoldOptions, 'offset' | 'signal'>;
  /** Describes this source in logs and reports. */
  label?: string;
}

export class ClusterSource implements ExchangeSource {
  readonly offset: number;
  readonly label: string;

  constructor(
    readonly target: ClusterNodes,
    private readonly options: ClusterSourceOptions = {},
  ) {
    const { ringSize, nVal } = target.params;
    this.offset = options.offset ?? Math.floor(Math.random() * ringSize * nVal);
    this.label = options.label ?? target.name;
  }

  describe(): SourceDescription {
    const { treeSize, hashMethod, seed } = this.target.params;
    return { treeSize, hashMethod, seed, capabilities: { hashes: true, sketch: true, syndromes: true } };
  }

  private run(signal: AbortSignal | undefined): RunFoldOptions {
    return { ...this.options.fold, offset: this.offset, ...(signal === undefined ? {} : { signal }) };
  }

  async fetchRoot(scope: ExchangeScope, options: FetchOptions): Promise<Uint32Array> {
    if (scope.kind === 'range') return (await this.buildRange(scope, options.signal)).root();
    const { acc } = await runFold(this.target, mergeRootNval, {}, this.run(options.signal));
    if (acc === null) throw new AaeError('EXCHANGE_FAILED', `${this.label}: the coverage plan asked no vnode`);
    return acc;
  }

  async fetchBranches(scope: ExchangeScope, ids: readonly number[], options: FetchOptions): Promise<Map<number, Uint32Array>> {
    if (ids.length === 0) return new Map();
    if (scope.kind === 'range') return (await this.buildRange(scope, options.signal)).branches(ids);
    const { acc } = await runFold(this.target, mergeBranchNval, { branches: [...ids] }, this.run(options.signal));
    return new Map(acc);
  }

  async fetchHashes(scope: ExchangeScope, request: HashesRequest, options: FetchOptions): Promise<Uint32Array> {
    if (scope.kind === 'range') return hashesOfTree(await this.buildRange(scope, options.signal), request);
    checkHashesRequest(request, segmentCountOf(this.target.params.treeSize));
    if (request.ids.length === 0) return new Uint32Array(0);
    // Ids as runs: a request that crosses a network names ~100 runs, not ~3,000 ids.
    const { acc } = await runFold(this.target, mergeWordsNval, { width: request.width, runs: toRuns(request.ids) }, this.run(options.signal));
    return acc ?? new Uint32Array(request.ids.length);
  }

  async fetchSketch(scope: ExchangeScope, request: HashesRequest, seed: number, options: FetchOptions): Promise<Uint32Array> {
    if (scope.kind === 'range') throw new AaeError('INTERNAL', `${this.label}: sketches are for full exchanges`);
    checkHashesRequest(request, segmentCountOf(this.target.params.treeSize));
    const { acc } = await runFold(this.target, sketchWordsNval, { width: request.width, runs: toRuns(request.ids), seed }, this.run(options.signal));
    // What crossed is the nodes' sketches, merged; no node asked is the sketch of nothing.
    return acc ?? new Uint32Array(2);
  }

  async fetchSyndromes(scope: ExchangeScope, request: SyndromeRequest, seed: number, options: FetchOptions): Promise<Uint32Array> {
    if (scope.kind === 'range') throw new AaeError('INTERNAL', `${this.label}: syndromes are for full exchanges`);
    if (request.ids.length === 0) return new Uint32Array(0);
    const { acc } = await runFold(this.target, syndromeWordsNval, { width: request.width, fanout: request.fanout, runs: toRuns(request.ids), seed }, this.run(options.signal));
    return acc ?? new Uint32Array(request.ids.length * syndromeWords(request.fanout));
  }

  async fetchClocks(scope: ExchangeScope, segments: readonly number[], options: FetchOptions): Promise<KeyClock[]> {
    if (segments.length === 0) return [];
    if (scope.kind === 'full') {
      const { acc } = await runFold(this.target, fetchClocksNval, { segments: [...segments], maxResults: MAX_CLOCKS }, this.run(options.signal));
      return acc;
    }
    const query = { ...rangeQuery(scope), segments: { ids: [...segments], treeSize: scope.treeSize }, maxResults: MAX_CLOCKS };
    const { acc } = await runFold(this.target, fetchClocksRange, query, this.run(options.signal));
    return acc;
  }

  /** Folds a fresh tree for the scope: each request is a new look at the data. */
  private async buildRange(scope: RangeScope, signal: AbortSignal | undefined): Promise<TicTacTree> {
    const { acc } = await runFold(this.target, mergeTreeRange, { ...rangeQuery(scope), treeSize: scope.treeSize }, this.run(signal));
    return acc;
  }
}

/** The range fields of a scope as a fold query (plain data: keys travel as bytes, the modules take them as they are). */
export function rangeQuery(scope: RangeScope): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  if (scope.bucket !== undefined) q.bucket = scope.bucket;
  if (scope.keyRange !== undefined) q.keyRange = { start: scope.keyRange.start, end: scope.keyRange.end };
  if (scope.modifiedRange !== undefined) q.modifiedRange = { start: scope.modifiedRange.from, end: scope.modifiedRange.to };
  if (scope.segments !== undefined) q.segments = { ids: [...scope.segments.ids], treeSize: scope.segments.treeSize };
  return q;
}
