/**
 * An exchange source held in memory: a TicTacTree kept current on every write plus a map of keys
 * to versions. The reference implementation of the source contract (source.ts), used by the tests
 * and the benchmark, and a model for real ones: a full scope answers from the cached tree; a range
 * scope builds a tree of the scope's size by folding the matching keys, as merge_tree_range does.
 *
 * Hash method `clock` only (it holds no values). initHash() must have resolved before a write.
 */
import type { Clock } from '../cluster/clock.js';
import { canonicalKey, compareBytes, contribution, keyHash, objectHash, utf8 } from '../hash/index.js';
import { TicTacTree, segmentCountOf, type TreeSize } from '../tictac/index.js';
import { hashesOfTree } from './hashes-of-tree.js';
import type {
  ExchangeScope,
  ExchangeSource,
  FetchOptions,
  HashesRequest,
  KeyClock,
  SourceDescription,
} from './source.js';

/** A tombstone has no value (its hash is of its clock, under a seed of its own: docs/FORMAT.md). */
const NO_VALUE = new Uint8Array(0);

export interface MemorySourceOptions {
  readonly treeSize: TreeSize;
  readonly seed?: number;
  /** Declare the `hashes` capability (default true). */
  readonly hashes?: boolean;
}

interface Entry {
  readonly kc: KeyClock;
  readonly segment32: number;
  readonly contribution: number;
}

export class MemorySource implements ExchangeSource {
  readonly treeSize: TreeSize;
  readonly seed: number;
  private readonly hashes: boolean;
  private readonly tree: TicTacTree;
  private readonly entries = new Map<string, Entry>();
  /** Calls answered, by method: for tests that count requests. */
  readonly calls = { fetchRoot: 0, fetchBranches: 0, fetchClocks: 0, fetchHashes: 0 };

  constructor(options: MemorySourceOptions) {
    this.treeSize = options.treeSize;
    this.seed = options.seed ?? 0;
    this.hashes = options.hashes ?? true;
    this.tree = TicTacTree.create(options.treeSize);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Writes (or replaces) a key's version; a tombstone is `deleted` with its clock. */
  put(bucket: string, key: Uint8Array | string, clock: Clock, deleted = false): void {
    const keyBytes = typeof key === 'string' ? utf8(key) : key;
    const id = identity(bucket, keyBytes);
    const old = this.entries.get(id);
    if (old !== undefined) this.tree.remove(old.segment32, old.contribution);
    const { segment32, alt } = keyHash(canonicalKey(bucket, keyBytes), this.seed);
    const hash = objectHash('clock', this.seed, clock.entries, NO_VALUE, deleted);
    const c = contribution(alt, hash);
    this.tree.add(segment32, c);
    this.entries.set(id, { kc: { bucket, key: keyBytes, clock, deleted, hash }, segment32, contribution: c });
  }

  /** Forgets a key entirely (as if never written; not a tombstone). */
  forget(bucket: string, key: Uint8Array | string): boolean {
    const keyBytes = typeof key === 'string' ? utf8(key) : key;
    const id = identity(bucket, keyBytes);
    const old = this.entries.get(id);
    if (old === undefined) return false;
    this.tree.remove(old.segment32, old.contribution);
    this.entries.delete(id);
    return true;
  }

  /** Every key clock held, in no particular order. */
  keyClocks(): KeyClock[] {
    return [...this.entries.values()].map((e) => e.kc);
  }

  describe(): SourceDescription {
    return { treeSize: this.treeSize, hashMethod: 'clock', seed: this.seed, capabilities: { hashes: this.hashes } };
  }

  fetchRoot(scope: ExchangeScope, _options: FetchOptions): Promise<Uint32Array> {
    this.calls.fetchRoot++;
    return Promise.resolve(this.treeFor(scope).root());
  }

  fetchBranches(scope: ExchangeScope, ids: readonly number[], _options: FetchOptions): Promise<Map<number, Uint32Array>> {
    this.calls.fetchBranches++;
    return Promise.resolve(this.treeFor(scope).branches(ids));
  }

  fetchHashes(scope: ExchangeScope, request: HashesRequest, _options: FetchOptions): Promise<Uint32Array> {
    this.calls.fetchHashes++;
    return Promise.resolve(hashesOfTree(this.treeFor(scope), request));
  }

  fetchClocks(scope: ExchangeScope, segments: readonly number[], _options: FetchOptions): Promise<KeyClock[]> {
    this.calls.fetchClocks++;
    const size = scope.kind === 'range' ? scope.treeSize : this.treeSize;
    const mask = segmentCountOf(size) - 1;
    const wanted = new Set(segments);
    const out: KeyClock[] = [];
    for (const e of this.entries.values()) {
      if (wanted.has(e.segment32 & mask) && inScope(scope, e)) out.push(e.kc);
    }
    return Promise.resolve(out);
  }

  private treeFor(scope: ExchangeScope): TicTacTree {
    if (scope.kind === 'full') return this.tree;
    const tree = TicTacTree.create(scope.treeSize);
    for (const e of this.entries.values()) if (inScope(scope, e)) tree.add(e.segment32, e.contribution);
    return tree;
  }
}

function identity(bucket: string, key: Uint8Array): string {
  return `${bucket}\u0000${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')}`;
}

function inScope(scope: ExchangeScope, e: Entry): boolean {
  if (scope.kind === 'full') return true;
  const { kc } = e;
  if (scope.bucket !== undefined && kc.bucket !== scope.bucket) return false;
  if (scope.keyRange !== undefined) {
    if (compareBytes(kc.key, scope.keyRange.start) < 0 || compareBytes(kc.key, scope.keyRange.end) > 0) return false;
  }
  if (scope.modifiedRange !== undefined) {
    const t = kc.clock.lastModified;
    if (t < scope.modifiedRange.from || t > scope.modifiedRange.to) return false;
  }
  if (scope.segments !== undefined) {
    const mask = segmentCountOf(scope.segments.treeSize) - 1;
    if (!scope.segments.ids.includes(e.segment32 & mask)) return false;
  }
  return true;
}
