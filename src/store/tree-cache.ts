import { TicTacTree, type TreeSize } from '../tictac/index.js';

/**
 * A vnode's cached TicTac trees: one per keyspace it holds (one per IndexN: a cluster has one nVal).
 *
 * A keyspace's tree is either current (it agrees with the heads stored for that keyspace) or
 * missing (null): after a crash, a bad checksum or a size change, until a rebuild from the heads
 * fills it in. Writes alter only current trees; a missing tree is rebuilt from the heads as they are
 * when the rebuild runs, which already include every write made while it was missing.
 *
 * Large trees are 4 MiB when full (16 KiB root + 4096 branches of 1 KiB, allocated lazily), so a
 * vnode holding 3 keyspaces costs up to 12 MiB; keep ring sizes modest when many clusters share a
 * process.
 */
export class TreeCache {
  private readonly trees = new Map<number, TicTacTree | null>();
  /**
   * While a rebuild reads a snapshot of the heads (tree-rebuild.ts): per keyspace, the XOR of every
   * change applied since the snapshot. The rebuilt tree merged with it is the tree of the heads as
   * they are now, which is what the cached tree must equal.
   */
  private shadow: Map<number, TicTacTree> | null = null;

  constructor(
    readonly size: TreeSize,
    keyspaces: readonly number[],
  ) {
    for (const k of keyspaces) this.trees.set(k, null);
  }

  keyspaces(): number[] {
    return [...this.trees.keys()];
  }

  holds(keyspace: number): boolean {
    return this.trees.has(keyspace);
  }

  /** The current tree of a keyspace, or null while it must be rebuilt. */
  get(keyspace: number): TicTacTree | null {
    return this.trees.get(keyspace) ?? null;
  }

  /** Installs a current tree (restored or rebuilt). A tree of the wrong size is refused: false. */
  set(keyspace: number, tree: TicTacTree): boolean {
    if (!this.trees.has(keyspace) || tree.size !== this.size) return false;
    this.trees.set(keyspace, tree);
    return true;
  }

  /** Keyspaces whose tree must be rebuilt before it answers. */
  missing(): number[] {
    const out: number[] = [];
    for (const [k, t] of this.trees) if (t === null) out.push(k);
    return out;
  }

  /** Forgets every tree (they will be rebuilt): used when trees can no longer be trusted. */
  invalidate(): void {
    for (const k of this.trees.keys()) this.trees.set(k, null);
  }

  /**
   * One write's effect on its keyspace's tree: the old contribution out (null: the key was absent),
   * the new one in (null: the key is erased). A missing tree is left alone.
   */
  apply(keyspace: number, segment32: number, oldC: number | null, newC: number | null): void {
    const delta = this.shadow?.get(keyspace);
    if (delta !== undefined) change(delta, segment32, oldC, newC);
    const tree = this.trees.get(keyspace);
    if (tree === undefined || tree === null) return;
    change(tree, segment32, oldC, newC);
  }

  /** Starts recording every change to the trees of the keyspaces held (see `shadow`); replaces a recording in progress. */
  startShadow(): void {
    this.shadow = new Map([...this.trees.keys()].map((k) => [k, TicTacTree.create(this.size)]));
  }

  /** Stops recording; the changes recorded since startShadow, per keyspace (empty if none was started). */
  endShadow(): Map<number, TicTacTree> {
    const recorded = this.shadow ?? new Map<number, TicTacTree>();
    this.shadow = null;
    return recorded;
  }
}

/** One write's change to a tree: XOR the old contribution out and the new one in. */
function change(tree: TicTacTree, segment32: number, oldC: number | null, newC: number | null): void {
  if (oldC === null) {
    if (newC !== null) tree.add(segment32, newC);
  } else if (newC === null) {
    tree.remove(segment32, oldC);
  } else {
    tree.alter(segment32, oldC, newC);
  }
}

/** A fresh empty tree of the cache's size, for a rebuild to fill. */
export function emptyTree(size: TreeSize): TicTacTree {
  return TicTacTree.create(size);
}
