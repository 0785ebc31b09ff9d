/**
 * Checking a vnode's cached trees against its heads, and replacing them: what `aae verify` and the
 * scheduled rebuilds do (tree-rebuild.ts says why trees need it).
 *
 * 1. In the vnode's write queue (no write in flight): make every tree current (restore or rebuild
 *    the missing ones), take a LevelDB snapshot, and start recording every tree change from then
 *    on (TreeCache shadow). At this instant the cached trees claim to describe the snapshot.
 * 2. Outside the queue, throttled: fold each keyspace's heads from the snapshot into a new tree.
 *    The vnode goes on taking writes and answering exchanges from its cached trees meanwhile.
 * 3. In the queue again: each new tree plus the changes recorded since the snapshot is the tree of
 *    the heads as they are now; the cached tree must equal it. A keyspace where it does not is
 *    reported, with how many segments differ, and with `replace` the new tree is swapped in.
 *
 * Trees compare leaf by leaf (a key count is bookkeeping). A rebuild that completes is recorded as
 * the vnode's last build, whatever it found; one that fails or is aborted changes nothing.
 */
import { AaeError } from '../errors.js';
import { dirtySegments, type TicTacTree, type TreeSize } from '../tictac/index.js';
import { KeyFilter } from './key-filter.js';
import type { NodeDb, Snapshot } from './node-db.js';
import type { TreeCache } from './tree-cache.js';
import { foldTree } from './tree-rebuild.js';

export interface RebuildTreesOptions {
  /** Swap in each rebuilt tree that differs from the cached one (default: only report). */
  replace?: boolean;
  /** Heads read a second at most (default: unthrottled). */
  maxKeysPerSecond?: number;
  signal?: AbortSignal;
  /** After each batch of heads folded. */
  onProgress?: (p: { vnode: number; keyspace: number; heads: number }) => void;
}

export interface KeyspaceTreeCheck {
  keyspace: number;
  /** Heads folded from the snapshot. */
  heads: number;
  /** Segments whose leaf differs between the cached tree and the tree of the heads (0: they agree). */
  differingSegments: number;
}

export interface VnodeTreeCheck {
  vnode: number;
  node: string;
  keyspaces: KeyspaceTreeCheck[];
  /** Some keyspace's cached tree disagreed with its heads. */
  differed: boolean;
  /** The differing trees were replaced by the rebuilt ones. */
  replaced: boolean;
}

/** What a vnode lends a rebuild (LocalVnode.rebuildTrees): its store, its trees and its write queue. */
export interface RebuildTarget {
  readonly db: NodeDb;
  readonly vnode: number;
  readonly treeSize: TreeSize;
  readonly keyspaces: readonly number[];
  readonly cache: TreeCache;
  /** Runs `fn` in the vnode's write queue: no write is in flight, none starts until it ends. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Makes every tree current (restores saved trees, rebuilds missing ones); called in the queue. */
  current(): Promise<void>;
  /** Notes that a keyspace's tree was replaced (treeStates). */
  replaced(keyspace: number, reason: string): void;
  /**
   * A replaced tree's keyspace learns the keys its heads hold (`rebuilt`, folded with the tree):
   * a tree that differed from its heads may hide keys its key filter never saw, and a write to such
   * a key must read the head it replaces. Called in the queue.
   */
  learnKeys(keyspace: number, rebuilt: KeyFilter): void;
  /** Records that every tree was built from the heads now. */
  built(): Promise<void>;
}

export async function rebuildVnodeTrees(t: RebuildTarget, options: RebuildTreesOptions = {}): Promise<VnodeTreeCheck> {
  let snapshot: Snapshot | undefined;
  await t.exclusive(async () => {
    await t.current();
    snapshot = t.db.snapshot();
    t.cache.startShadow();
  });
  try {
    const rebuilt = new Map<number, { tree: TicTacTree; heads: number; filter: KeyFilter }>();
    for (const keyspace of t.keyspaces) {
      let heads = 0;
      const filter = KeyFilter.create();
      const tree = await foldTree(t.db, t.vnode, keyspace, t.treeSize, {
        snapshot: snapshot!,
        filter,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.maxKeysPerSecond === undefined ? {} : { maxKeysPerSecond: options.maxKeysPerSecond }),
        onProgress: (n) => {
          heads = n;
          options.onProgress?.({ vnode: t.vnode, keyspace, heads: n });
        },
      });
      rebuilt.set(keyspace, { tree, heads, filter });
    }
    return await t.exclusive(async () => {
      const changes = t.cache.endShadow();
      const keyspaces: KeyspaceTreeCheck[] = [];
      let differed = false;
      for (const keyspace of t.keyspaces) {
        const { tree, heads, filter } = rebuilt.get(keyspace)!;
        const delta = changes.get(keyspace);
        if (delta !== undefined) tree.mergeInPlace(delta);
        const cached = t.cache.get(keyspace);
        if (cached === null) throw new AaeError('INTERNAL', `vnode ${t.vnode}: the tree of keyspace ${keyspace} went missing during a rebuild`);
        const differingSegments = cached.equals(tree) ? 0 : Math.max(1, dirtySegments(cached, tree).length);
        keyspaces.push({ keyspace, heads, differingSegments });
        if (differingSegments === 0) continue;
        differed = true;
        if (options.replace === true) {
          t.cache.set(keyspace, tree);
          t.learnKeys(keyspace, filter);
          t.replaced(keyspace, `replaced: the cached tree differed from the heads in ${differingSegments} segment(s)`);
        }
      }
      await t.built();
      return { vnode: t.vnode, node: t.db.node, keyspaces, differed, replaced: differed && options.replace === true };
    });
  } finally {
    t.cache.endShadow(); // a failed or aborted rebuild stops recording too
    await snapshot?.release();
  }
}
