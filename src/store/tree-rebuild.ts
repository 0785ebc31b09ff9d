/**
 * Building a keyspace's tree from its heads, and the record of when a vnode's trees were last
 * built that way.
 *
 * A cached tree is kept current by every write, saved on a clean close and restored at the next
 * open. It is only ever as right as what it was built from: if the data changes under it (LevelDB
 * drops damaged records when it recovers, a disk flips a bit, a file is restored from a backup),
 * the tree goes on describing data that is gone, and an exchange reads the tree, not the data.
 * So trees are also rebuilt from the heads, on demand (`aae verify`) and on a schedule, as Riak's
 * aae_controller does: every vnode every `wait` plus a random share of `delay` (two weeks plus up
 * to four days by default: its `tictacaae_rebuildwait` and `tictacaae_rebuilddelay`), the random
 * share fixed per build so that a cluster's vnodes spread out rather than rebuild together.
 *
 * A rebuild reads a LevelDB snapshot while the vnode goes on writing and answering from its old
 * trees; the changes made meanwhile are recorded (TreeCache shadow) and merged into the new trees,
 * which are swapped in (LocalVnode.rebuildTrees). The fold is throttled: a background rebuild must
 * leave the node to its users.
 *
 * The rebuild record, `'v' ‖ vnode ‖ 'b'`: version 1 (u8) ‖ builtAt (f64 BE, ms) ‖ jitter (f64 BE,
 * in [0, 1)): when the vnode's trees were last built from its heads, and this build's share of
 * `delay`. It is written when a vnode is created, when all its trees are rebuilt (after a crash,
 * by verify, on schedule), and, for a vnode that has none (a store older than the record), when
 * its trees are first read.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AaeError } from '../errors.js';
import { contribution } from '../hash/index.js';
import { LEAVES_PER_BRANCH, TicTacTree, type TreeSize } from '../tictac/index.js';
import { readHashes } from './codec.js';
import type { KeyFilter } from './key-filter.js';
import { KIND_HEAD, bitReverse32, headRangeKey, keyspacePrefix, prefixEnd, segmentBits, segmentRange } from './layout.js';
import { namingNode, type NodeDb, type Snapshot } from './node-db.js';

/** Heads read per nextv by a rebuild (as a full-scan fold: one native call per thousand). */
export const REBUILD_BATCH = 1000;

export interface TreeFoldOptions {
  signal?: AbortSignal;
  /** Read the heads as they were when this snapshot was taken. */
  snapshot?: Snapshot;
  /** Every key folded is added to it. */
  filter?: KeyFilter;
  /** At most this many heads a second (a background rebuild); unthrottled when absent. */
  maxKeysPerSecond?: number;
  batchSize?: number;
  /** Heads folded so far in this keyspace, after each batch. */
  onProgress?: (heads: number) => void;
}

/** A tree built from scratch from one keyspace's heads (reads no values). */
export async function foldTree(db: NodeDb, vnode: number, keyspace: number, size: TreeSize, options: TreeFoldOptions = {}): Promise<TicTacTree> {
  const tree = TicTacTree.create(size);
  const h = { hash: 0, alt: 0 };
  const prefix = keyspacePrefix(vnode, KIND_HEAD, keyspace);
  const it = db.iterator({ gte: prefix, lt: prefixEnd(prefix) }, options.snapshot === undefined ? {} : { snapshot: options.snapshot });
  const rate = options.maxKeysPerSecond;
  if (rate !== undefined && !(rate > 0)) throw new AaeError('INVALID_ARGUMENT', `maxKeysPerSecond must be positive, got ${rate}`);
  const started = performance.now();
  let heads = 0;
  try {
    for (;;) {
      if (options.signal?.aborted) throw new AaeError('ABORTED', 'tree rebuild aborted', { cause: options.signal.reason });
      const entries = await it.nextv(options.batchSize ?? REBUILD_BATCH);
      if (entries.length === 0) break;
      for (const [k, v] of entries) {
        const segment32 = bitReverse32(((k[6]! << 24) | (k[7]! << 16) | (k[8]! << 8) | k[9]!) >>> 0);
        try {
          readHashes(v, h);
        } catch (e) {
          throw namingNode(e, db.node);
        }
        tree.add(segment32, contribution(h.alt, h.hash));
        options.filter?.add(segment32, h.alt);
      }
      heads += entries.length;
      options.onProgress?.(heads);
      if (rate !== undefined) await throttle(started, heads, rate, options.signal);
    }
  } finally {
    await it.close();
  }
  return tree;
}

/** Waits until `done` items at `rate` a second are due since `started`: a steady pace, not bursts. */
async function throttle(started: number, done: number, rate: number, signal: AbortSignal | undefined): Promise<void> {
  const ahead = (done / rate) * 1000 - (performance.now() - started);
  if (ahead <= 1) return;
  try {
    await sleep(ahead, undefined, signal === undefined ? {} : { signal });
  } catch (e) {
    throw new AaeError('ABORTED', 'tree rebuild aborted', { cause: signal?.reason ?? e });
  }
}

/**
 * Leaves of a restored tree checked against the heads when a vnode reads its saved trees. A leaf
 * is one seek (a segment is one key range): 8 of them a keyspace cost well under a millisecond,
 * and catch most damage that leaves many keys missing or changed (a quarter of the keys gone slips
 * past 8 samples one time in ten per keyspace, and a vnode has nVal keyspaces), never a single one.
 * The open's LevelDB check and the rebuilds (verify, scheduled) are the other nets.
 */
export const SPOT_CHECK_LEAVES = 8;

/**
 * A restored tree against its heads, at up to SPOT_CHECK_LEAVES non-empty leaves chosen at random:
 * the first segment whose leaf the heads contradict, or undefined when every one sampled agrees.
 */
export async function spotCheck(db: NodeDb, vnode: number, keyspace: number, tree: TicTacTree, random: () => number = Math.random): Promise<number | undefined> {
  const root = tree.root();
  const branches: number[] = [];
  for (let b = 0; b < root.length; b++) if (root[b] !== 0) branches.push(b);
  const bits = segmentBits(tree.size);
  for (let i = 0; i < SPOT_CHECK_LEAVES && branches.length > 0; i++) {
    const branch = branches[Math.floor(random() * branches.length)]!;
    const leaves = tree.branch(branch);
    const live: number[] = [];
    for (let l = 0; l < LEAVES_PER_BRANCH; l++) if (leaves[l] !== 0) live.push(l);
    if (live.length === 0) continue; // a root word can be non-zero over leaves that are all zero only by a 2^-32 accident
    const segment = branch * LEAVES_PER_BRANCH + live[Math.floor(random() * live.length)]!;
    if ((await leafFromHeads(db, vnode, keyspace, segment, bits)) !== tree.getSegment(segment)) return segment;
  }
  return undefined;
}

/** The XOR of the contributions of one segment's heads in one keyspace: what its leaf must be. */
async function leafFromHeads(db: NodeDb, vnode: number, keyspace: number, segment: number, bits: number): Promise<number> {
  const { lo, hi } = segmentRange(segment, bits);
  const it = db.iterator({ gte: headRangeKey(vnode, KIND_HEAD, keyspace, lo), lt: headRangeKey(vnode, KIND_HEAD, keyspace, hi) });
  const h = { hash: 0, alt: 0 };
  let leaf = 0;
  try {
    for (let e = await it.next(); e !== undefined; e = await it.next()) {
      try {
        readHashes(e[1], h);
      } catch (err) {
        throw namingNode(err, db.node);
      }
      leaf ^= contribution(h.alt, h.hash);
    }
  } finally {
    await it.close();
  }
  return leaf >>> 0;
}

/** When a vnode's trees were last built from its heads, and this build's share of the delay. */
export interface BuiltRecord {
  builtAt: number;
  /** In [0, 1): the share of `delayMs` added to `waitMs` before the next scheduled rebuild. */
  jitter: number;
}

const BUILT_VERSION = 1;

export function encodeBuilt(r: BuiltRecord): Uint8Array {
  const out = new Uint8Array(17);
  const view = new DataView(out.buffer);
  out[0] = BUILT_VERSION;
  view.setFloat64(1, r.builtAt);
  view.setFloat64(9, r.jitter);
  return out;
}

/** The record, or undefined for one that does not decode (treated as absent: it is rewritten). */
export function decodeBuilt(bytes: Uint8Array): BuiltRecord | undefined {
  if (bytes.length !== 17 || bytes[0] !== BUILT_VERSION) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const builtAt = view.getFloat64(1);
  const jitter = view.getFloat64(9);
  if (!Number.isFinite(builtAt) || builtAt < 0 || !(jitter >= 0 && jitter < 1)) return undefined;
  return { builtAt, jitter };
}

/** How often trees are rebuilt from their heads. */
export interface RebuildSchedule {
  /** The least time between two builds of a vnode's trees (default 14 days: Riak's rebuild wait). */
  waitMs: number;
  /** Up to this much more, a random share per build (default 4 days: Riak's rebuild delay). */
  delayMs: number;
}

export const DEFAULT_REBUILD_SCHEDULE: RebuildSchedule = { waitMs: 14 * 24 * 3_600_000, delayMs: 4 * 24 * 3_600_000 };

/** When the vnode's next scheduled rebuild is due. */
export function rebuildDueAt(r: BuiltRecord, schedule: RebuildSchedule = DEFAULT_REBUILD_SCHEDULE): number {
  return r.builtAt + schedule.waitMs + r.jitter * schedule.delayMs;
}

export function validateSchedule(s: RebuildSchedule): void {
  for (const [name, v] of [['waitMs', s.waitMs], ['delayMs', s.delayMs]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new AaeError('INVALID_ARGUMENT', `rebuild ${name} must be a duration ≥ 0, got ${v}`);
  }
}
