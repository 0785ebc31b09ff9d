/**
 * One vnode's trees as an exchange source, for comparing the replicas inside one cluster.
 *
 * Two vnodes share the keyspaces (IndexNs) that both hold; an exchange between them compares the
 * XOR of their trees over exactly those keyspaces, and lists keys of those keyspaces only. With
 * vnodes v and v+d (d < nVal) sharing nVal−d keyspaces, exchanging every such pair compares each
 * keyspace's replicas pairwise exactly once (see replica-pairs.ts).
 *
 * Full scope answers from the vnode's cached trees; a range scope folds the vnode's heads (no
 * values) into a tree of the scope's size, restricted to the shared keyspaces, afresh for every
 * request so that each round is a new look at the data.
 */
import type { HashMethod } from '../hash/index.js';
import { contribution } from '../hash/index.js';
import type { ExchangeScope, ExchangeSource, FetchOptions, HashesRequest, KeyClock, RangeScope, SourceDescription } from '../exchange/index.js';
import { checkHashesRequest, hashesOfTree } from '../exchange/index.js';
import type { FoldFilter, Vnode } from '../store/index.js';
import { TicTacTree, segmentCountOf, type TreeSize } from '../tictac/index.js';

export class VnodeSource implements ExchangeSource {
  constructor(
    readonly vnode: Vnode,
    /** The keyspaces compared (all held by the vnode). */
    readonly keyspaces: readonly number[],
    private readonly env: { nVal: number; hashMethod: HashMethod; seed: number },
  ) {}

  get label(): string {
    return `vnode ${this.vnode.id}@${this.vnode.node}`;
  }

  describe(): SourceDescription {
    return { treeSize: this.vnode.treeSize, hashMethod: this.env.hashMethod, seed: this.env.seed, capabilities: { hashes: true } };
  }

  private indexNs() {
    return this.keyspaces.map((keyspace) => ({ keyspace, nVal: this.env.nVal }));
  }

  async fetchRoot(scope: ExchangeScope, options: FetchOptions): Promise<Uint32Array> {
    if (scope.kind === 'range') return (await this.buildRange(scope, options.signal)).root();
    let root: Uint32Array | undefined;
    for (const indexN of this.indexNs()) {
      const r = await this.vnode.fetchRoot(indexN);
      if (root === undefined) root = r;
      else xorInto(root, r);
    }
    return root ?? new Uint32Array(TicTacTree.create(this.vnode.treeSize).branchCount);
  }

  async fetchBranches(scope: ExchangeScope, ids: readonly number[], options: FetchOptions): Promise<Map<number, Uint32Array>> {
    if (scope.kind === 'range') return (await this.buildRange(scope, options.signal)).branches(ids);
    const out = new Map<number, Uint32Array>();
    for (const indexN of this.indexNs()) {
      const part = await this.vnode.fetchBranches(indexN, ids);
      for (const [id, leaves] of part) {
        const seen = out.get(id);
        if (seen === undefined) out.set(id, leaves);
        else xorInto(seen, leaves);
      }
    }
    return out;
  }

  async fetchHashes(scope: ExchangeScope, request: HashesRequest, options: FetchOptions): Promise<Uint32Array> {
    if (scope.kind === 'range') return hashesOfTree(await this.buildRange(scope, options.signal), request);
    checkHashesRequest(request, segmentCountOf(this.vnode.treeSize));
    const out = new Uint32Array(request.ids.length);
    for (const indexN of this.indexNs()) await this.vnode.xorWordsInto(indexN, request.width, request.ids, out);
    return out;
  }

  async fetchClocks(scope: ExchangeScope, segments: readonly number[], options: FetchOptions): Promise<KeyClock[]> {
    if (segments.length === 0) return [];
    const fold = options.signal === undefined ? {} : { signal: options.signal };
    if (scope.kind === 'full') return this.vnode.fetchClocks({ keyspaces: this.keyspaces }, segments, this.vnode.treeSize, fold);
    const out: KeyClock[] = [];
    const filter: FoldFilter = { ...rangeFilter(scope), keyspaces: this.keyspaces, segments: { ids: segments, treeSize: scope.treeSize } };
    for await (const batch of this.vnode.foldHeads(filter, fold)) {
      for (const h of batch) out.push({ bucket: h.bucket, key: h.key, clock: h.clock, deleted: h.deleted });
    }
    return out;
  }

  private async buildRange(scope: RangeScope, signal: AbortSignal | undefined): Promise<TicTacTree> {
    const tree = TicTacTree.create(scope.treeSize);
    const filter: FoldFilter = { ...rangeFilter(scope), keyspaces: this.keyspaces };
    for await (const batch of this.vnode.foldHeads(filter, signal === undefined ? {} : { signal })) {
      for (const h of batch) tree.add(h.segment32, contribution(h.alt, h.hash));
    }
    return tree;
  }
}

export function rangeFilter(scope: RangeScope): FoldFilter {
  const f: FoldFilter = {};
  if (scope.bucket !== undefined) f.buckets = [scope.bucket];
  if (scope.keyRange !== undefined) f.keyRange = { start: scope.keyRange.start, end: scope.keyRange.end };
  if (scope.modifiedRange !== undefined) f.modifiedRange = { start: scope.modifiedRange.from, end: scope.modifiedRange.to };
  if (scope.segments !== undefined) f.segments = { ids: scope.segments.ids, treeSize: scope.segments.treeSize as TreeSize };
  return f;
}

function xorInto(target: Uint32Array, other: Uint32Array): void {
  for (let i = 0; i < target.length; i++) target[i]! ^= other[i]!;
}
