/**
 * Keeping a cluster's cached trees honest (tree-rebuild.ts says why): verifying every vnode's
 * trees against its heads on demand (`aae verify`), and rebuilding the vnodes whose scheduled
 * rebuild is due, one vnode at a time and throttled (`aae sync`, and the node server to come).
 * Both work through LocalVnode.rebuildTrees, so a vnode keeps answering from its old trees until
 * the new ones are swapped in.
 */
import { throwIfAborted } from '../errors.js';
import type { LocalVnode } from './local-vnode.js';
import type { VnodeTreeCheck } from './tree-check.js';
import { DEFAULT_REBUILD_SCHEDULE, rebuildDueAt, validateSchedule, type RebuildSchedule } from './tree-rebuild.js';

/** What tree maintenance needs of a cluster: its vnodes (and its name, for reports). */
export interface TreeHolder {
  readonly spec: { readonly name: string };
  vnodes(): readonly LocalVnode[];
}

export interface VerifyOptions {
  /** Replace every tree that differs from its heads (default: only report). */
  fix?: boolean;
  signal?: AbortSignal;
  maxKeysPerSecond?: number;
  /** After each vnode. */
  onVnode?: (check: VnodeTreeCheck, done: number, total: number) => void;
}

export interface VerifyReport {
  vnodes: VnodeTreeCheck[];
  /** The vnodes some of whose trees differed from their heads. */
  differed: VnodeTreeCheck[];
}

/** Rebuilds every vnode's trees from its heads beside the cached ones, one vnode at a time. */
export async function verifyTrees(cluster: TreeHolder, options: VerifyOptions = {}): Promise<VerifyReport> {
  const all = cluster.vnodes();
  const vnodes: VnodeTreeCheck[] = [];
  for (const v of all) {
    throwIfAborted(options.signal);
    const check = await v.rebuildTrees({
      replace: options.fix === true,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.maxKeysPerSecond === undefined ? {} : { maxKeysPerSecond: options.maxKeysPerSecond }),
    });
    vnodes.push(check);
    options.onVnode?.(check, vnodes.length, all.length);
  }
  return { vnodes, differed: vnodes.filter((c) => c.differed) };
}

/**
 * Heads a second a scheduled rebuild reads by default: a fifth or so of what one core folds
 * (0.5 M/s measured), so a background rebuild leaves the node to its users; a vnode of a million
 * keys takes ten seconds.
 */
export const DEFAULT_REBUILD_RATE = 100_000;

export interface DueRebuildOptions {
  schedule?: RebuildSchedule;
  maxKeysPerSecond?: number;
  now?: () => number;
  /** Aborts the rebuild in progress (its work is discarded) and the rest. */
  signal?: AbortSignal;
  /** Starts no further vnode once fired; the one in progress finishes. */
  stop?: AbortSignal;
  onRebuilt?: (check: VnodeTreeCheck, cluster: TreeHolder) => void;
}

/** The vnodes whose scheduled rebuild is due, most overdue first. */
export async function dueVnodes(cluster: TreeHolder, schedule: RebuildSchedule = DEFAULT_REBUILD_SCHEDULE, now = Date.now()): Promise<LocalVnode[]> {
  validateSchedule(schedule);
  const due: Array<{ vnode: LocalVnode; at: number }> = [];
  for (const vnode of cluster.vnodes()) {
    const built = await vnode.builtRecord();
    // No record yet: the vnode has not read its trees since the record existed; it is not due.
    if (built === undefined) continue;
    const at = rebuildDueAt(built, schedule);
    if (at <= now) due.push({ vnode, at });
  }
  return due.sort((a, b) => a.at - b.at).map((d) => d.vnode);
}

/**
 * Rebuilds the vnodes whose rebuild is due, one at a time, throttled, replacing trees that differ;
 * returns what each found. A vnode's failure ends the run (the rest stay due for the next).
 */
export async function rebuildDueTrees(clusters: readonly TreeHolder[], options: DueRebuildOptions = {}): Promise<VnodeTreeCheck[]> {
  const now = options.now ?? Date.now;
  const done: VnodeTreeCheck[] = [];
  for (const cluster of clusters) {
    for (const vnode of await dueVnodes(cluster, options.schedule, now())) {
      if (options.stop?.aborted) return done;
      throwIfAborted(options.signal);
      const check = await vnode.rebuildTrees({
        replace: true,
        maxKeysPerSecond: options.maxKeysPerSecond ?? DEFAULT_REBUILD_RATE,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      done.push(check);
      options.onRebuilt?.(check, cluster);
    }
  }
  return done;
}

/** Scheduled rebuilds running in the background while the clusters are open. */
export interface BackgroundRebuilds {
  /** Starts no further vnode, waits for the one in progress; what was rebuilt, or the failure. */
  finish(): Promise<{ rebuilt: VnodeTreeCheck[]; error?: unknown }>;
}

/**
 * Starts rebuildDueTrees in the background: the caller goes on exchanging and repairing (the vnodes
 * answer from their old trees until the new ones swap in) and calls `finish` before closing the
 * clusters. A failure is kept for `finish` to report, never thrown at the caller.
 */
export function startDueRebuilds(clusters: readonly TreeHolder[], options: Omit<DueRebuildOptions, 'stop'> = {}): BackgroundRebuilds {
  const stop = new AbortController();
  const running = rebuildDueTrees(clusters, { ...options, stop: stop.signal }).then(
    (rebuilt) => ({ rebuilt }),
    (error: unknown) => ({ rebuilt: [], error }),
  );
  return {
    finish: async () => {
      stop.abort();
      return running;
    },
  };
}
