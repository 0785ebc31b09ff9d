/**
 * The node contract: the one seam through which a coordinator reaches data.
 *
 * A *node* holds some vnodes of a cluster (or, for a keystore, the trees of an external database)
 * and answers five requests. Every request and every answer is plain data — numbers, strings,
 * booleans, null, arrays, plain objects and typed arrays — with no class instances, no
 * out-parameters and no callbacks, so the same call can be made on an object in this process, on a
 * server across a socket (src/net), or through a codec in a test (the loopback suite encodes every
 * request and answer with msgpack and decodes it on the other side).
 *
 * - `info`: who the node is, what it holds, what it can do, how busy its fold queue is.
 * - `fold`: run a fold module on the node, over the vnodes and keyspaces the coordinator planned,
 *   and stream back the module's output (key batches, for repl_keys_range) and finally its encoded
 *   accumulator. This is the coprocessor request of TiKV: a module name, a version constraint and a
 *   query in, an accumulator out. The data the fold reads never leaves the node; cached-tree reads
 *   (roots, branches, words, the clocks of a few segments) are folds too.
 * - `readHeads` / `readObjects`: what one vnode holds of some keys (a head is the object without its
 *   value). `readHeads` also answers the vnode's write generation, so a write planned on those
 *   heads can skip reading them again when nothing landed in between.
 * - `write`: writes into one vnode, each optionally conditional (store an object only if it
 *   dominates what the vnode holds at that moment; erase only while the vnode still holds the
 *   version the decision was made on), decided inside the vnode's write step, so no other write can
 *   land between the check and the write.
 *
 * The contract has a major and a minor version (NODE_CONTRACT). A coordinator refuses a node of
 * another major version; a minor version only adds optional fields.
 */
import type { AaeObject, Clock, IndexEntry } from '../cluster/index.js';
import type { HashMethod } from '../hash/index.js';
import type { TreeSize } from '../tictac/index.js';

/**
 * Minor 1 adds, all optional: a plugin's state in ModuleInfo and a digest in FoldRequest (plugins,
 * src/plugin); a keystore's status in NodeInfo and the erasesDeletes capability (src/connect).
 * Minor 2 adds NodeInfo's `copy` (which copy of its cluster a served node's data is) and a
 * keystore's `unreachable` (its feed cannot reach the source).
 */
export const NODE_CONTRACT = { major: 1, minor: 2 } as const;

/** The ring and hash parameters every node of a cluster shares (a subset of cluster.json). */
export interface NodeParams {
  readonly ringSize: number;
  readonly nVal: number;
  readonly treeSize: TreeSize;
  readonly hashMethod: HashMethod;
  readonly seed: number;
}

/** Declared, never probed: what a node can answer. */
export interface NodeCapabilities {
  /** Cached trees, current after every write: tree reads cost nothing like a scan. */
  readonly treeCache: boolean;
  /** Folds over heads (no values read). */
  readonly headFold: boolean;
  /** Folds over hash and size only (no clocks or index entries decoded). */
  readonly hashSizeFold: boolean;
  /** Folds over whole objects, and readObjects. */
  readonly objectFold: boolean;
  /** Folds over secondary-index entries. */
  readonly indexFold: boolean;
  /** `write` accepts writes (false for a read-only node). */
  readonly writes: boolean;
  /**
   * Minor 1. A delete erases the key instead of keeping a tombstone, so a key the node lacks was
   * deleted there (a keystore: its table has no such row), not merely never written. Repair lets
   * such a deletion win under the source/sink policies. Absent: false (a node keeps tombstones).
   */
  readonly erasesDeletes?: boolean;
}

/** A fold module a node can run: its name and its version (semver). */
export interface ModuleInfo {
  readonly name: string;
  readonly version: string;
  /** Whether the module writes (reap_tombs, erase_keys): such folds run only where the node allows them. */
  readonly mutates: boolean;
  /** (minor 1) Present for a deployed plugin: where it stands on the node. Absent for a built-in or in-process module. */
  readonly plugin?: PluginState;
}

/**
 * (minor 1) A plugin's state on a node (src/plugin):
 * - `serving`: requests may name it;
 * - `retiring`: replaced or removed; folds that started on it finish on it, new requests never get it;
 * - `refused`: never loaded — its plugin-API range does not include this node's, its manifest is bad,
 *   its module did not load, or it mutates on a node that does not allow that (`reason` says which).
 */
export interface PluginState {
  readonly state: 'serving' | 'retiring' | 'refused';
  /** The plugin-API range the plugin was built for (semver), as its manifest says. */
  readonly apiRange: string;
  /** sha-256 of the plugin's files, hex: a coordinator's copy must match it (PLUGIN_MISMATCH). */
  readonly digest: string;
  /** Where it came from: its folder or file in the node's plugin directory. */
  readonly path: string;
  /** Why it was refused, or why a newer copy at its path was (while this one keeps serving). */
  readonly reason?: string;
  /** The error code that goes with `reason`. */
  readonly code?: string;
}

/** Where one keyspace's cached tree came from (see the store): restored, rebuilt, empty, missing, or not yet read. */
export interface TreeStatus {
  readonly vnode: number;
  readonly keyspace: number;
  readonly origin: 'empty' | 'restored' | 'rebuilt' | 'missing' | 'unread';
  readonly reason?: string;
}

/**
 * Minor 1: a keystore node (src/connect) says how far it can be trusted and how far behind its
 * source it is, so that every tool that asks a node (compare, `aae cluster status`, `/metrics`)
 * can show it: a difference younger than the lag is not yet a difference.
 */
export interface KeystoreNodeStatus {
  /** The source's engine (`postgresql`). */
  readonly engine: string;
  /** false: the keystore missed changes (a gap) or was never built; it vouches for nothing until rebuilt. */
  readonly reliable: boolean;
  /** Why it is unreliable (null when reliable). */
  readonly reason: string | null;
  readonly phase: 'new' | 'building' | 'swapping' | 'ready';
  /** The source position the keystore holds every change up to (the engine's text: a PostgreSQL LSN), null before the first build. */
  readonly position: string | null;
  /** Distance behind the source, in the engine's unit (PostgreSQL: WAL bytes) and seconds, as measured at `at` (ms); null when never measured. */
  readonly lag: { readonly bytes: number; readonly seconds: number; readonly at: number } | null;
  /** Whether the node's own process follows the source now (so its position moves, and writes to the source are read back). */
  readonly following: boolean;
  /** (minor 2) Its feed cannot reach the source (it is reconnecting): since when (ms) and why. Absent while it can. */
  readonly unreachable?: { readonly reason: string; readonly since: number };
}

export interface NodeInfo {
  readonly name: string;
  /** The cluster the node belongs to (cluster.json's name). */
  readonly cluster: string;
  readonly contract: { readonly major: number; readonly minor: number };
  /** The software serving the node, e.g. "tictac-aae 0.1.0". */
  readonly software: string;
  readonly params: NodeParams;
  /** The vnodes this node holds, ascending. */
  readonly vnodes: readonly number[];
  readonly capabilities: NodeCapabilities;
  readonly modules: readonly ModuleInfo[];
  /** The node's fold queue now. */
  readonly folds: { readonly running: number; readonly waiting: number; readonly maxRunning: number; readonly maxWaiting: number };
  /** Per vnode and keyspace, where its tree stands (present when the node keeps trees). */
  readonly trees?: readonly TreeStatus[];
  /** Present on a keystore node (minor 1). */
  readonly keystore?: KeystoreNodeStatus;
  /**
   * (minor 2) Which copy of the cluster this node's data is: the id of the directory it is served
   * from (`cluster.id`, 32 hex digits), or for a keystore, of the source it reads
   * (src/connect/source-copy.ts). A cluster rebuilt under the same name gets new ids, so a
   * sync's state, which vouches for the data it was written against, is not carried over to it
   * (docs/SYNC.md). Absent from an in-process node and from a node of an older version.
   */
  readonly copy?: string;
}

/** Per-call options: not data, but what a transport carries beside it (gRPC: cancellation, deadline). */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

// ---- folds ----

/** One vnode of a fold request, and the keyspaces of it that the fold answers for. */
export interface FoldShare {
  readonly vnode: number;
  readonly keyspaces: readonly number[];
}

export interface FoldRequest {
  /** The module's name (a built-in, a module registered with the node, later a plugin). */
  readonly module: string;
  /** A semver range the module's version must satisfy; any version when absent. */
  readonly version?: string;
  /** The module's query, as plain data: the node validates it with the module's own parseQuery. */
  readonly query: unknown;
  /** What to fold: the coordinator's coverage plan, this node's share of it. */
  readonly vnodes: readonly FoldShare[];
  /** The caller takes the keys a module hands over as it goes (`keys` events); without it they are only counted. */
  readonly emit?: boolean;
  /**
   * (minor 1) The digest of the plugin files the caller merges with (PluginState.digest): a node
   * whose plugin of that version has other files refuses with PLUGIN_MISMATCH. Absent: no check.
   */
  readonly digest?: string;
}

/** One key's version as a node holds it. A tombstone keeps its clock and sets `deleted`. */
export interface KeyClock {
  readonly bucket: string;
  readonly key: Uint8Array;
  readonly clock: Clock;
  readonly deleted: boolean;
  /** The object hash (by the cluster's hash method): what the trees are built from. */
  readonly hash: number;
}

/**
 * What a fold streams back, in order: any number of progress and key events, then exactly one
 * result (or the stream fails). A consumer that stops pulling holds the fold: key batches are not
 * produced faster than they are taken.
 */
export type FoldEvent =
  | { readonly kind: 'progress'; readonly vnodesDone: number; readonly items: number }
  /** Keys the module hands over as it goes (repl_keys_range's batches). */
  | { readonly kind: 'keys'; readonly keys: readonly KeyClock[] }
  /** The accumulator, encoded by the module's codec, and the items folded to make it. */
  | { readonly kind: 'result'; readonly acc: Uint8Array; readonly items: number };

// ---- reads ----

export interface KeyRef {
  readonly bucket: string;
  readonly key: Uint8Array;
}

/** A vnode's head of a key: the object without its value, plus what the trees need. */
export interface Head {
  readonly clock: Clock;
  readonly deleted: boolean;
  /** Bytes of the value (0 for a tombstone). */
  readonly size: number;
  /** The object hash by the cluster's hash method. */
  readonly hash: number;
  /** High 32 bits of the key hash (the contribution is contribution(alt, hash)). */
  readonly alt: number;
  readonly indexes: ReadonlyArray<readonly [string, string]>;
}

export interface ReadRequest {
  readonly vnode: number;
  readonly keys: readonly KeyRef[];
  /** Where each key lives, as a coordinator in the node's own process worked it out (a hint: see WriteHint). */
  readonly locs?: readonly KeyLoc[];
}

export interface HeadsAnswer {
  /** The vnode's write generation when the heads were read (see WriteBasis). */
  readonly generation: number;
  /** In the order of the request's keys; null where the vnode lacks the key. */
  readonly heads: ReadonlyArray<Head | null>;
}

/** An object as a vnode holds it, with the object hash its head stores (what its trees were built from). */
export interface StoredObjectRecord {
  readonly object: AaeObject;
  readonly hash: number;
}

export interface ObjectsAnswer {
  /** In the order of the request's keys; null where the vnode lacks the key (a tombstone is not null). */
  readonly objects: ReadonlyArray<StoredObjectRecord | null>;
}

// ---- writes ----

/** A version as a decision saw it: its object hash and tombstone flag. */
export interface HeldVersion {
  readonly hash: number;
  readonly deleted: boolean;
}

/**
 * One write into a vnode.
 * - `put` stores an object version (a tombstone is one). With `ifDominates`, only if its clock
 *   dominates the version the vnode holds at that moment (or the vnode lacks the key). With
 *   `ifHeld`, only while the vnode still holds exactly the version a decision was made on (null:
 *   it held none) — a compare-and-set, how repair writes: a version that landed after the decision
 *   is never overwritten, whether or not clocks can tell (data without clocks has none to tell).
 * - `erase` removes the key from the vnode (reaping a tombstone, erasing keys). With `ifHash`, only
 *   while the vnode still holds a version of that object hash (and, with `ifDeleted`, only a tombstone).
 */
export type WriteOp =
  | { readonly kind: 'put'; readonly object: AaeObject; readonly ifDominates?: boolean; readonly ifHeld?: HeldVersion | null }
  | { readonly kind: 'erase'; readonly bucket: string; readonly key: Uint8Array; readonly ifHash?: number; readonly ifDeleted?: boolean };

/** The head a write was planned on, read at `generation`: used only if no write landed since. */
export interface WriteBasis {
  readonly generation: number;
  readonly head: Head | null;
}

/**
 * Work a coordinator in the node's own process has already done for a write, so a key's replicas
 * share it: where the key lives and the head it will store, encoded. A node trusts it only from
 * its own process; a server drops it and works it out again (a client must not be able to store a
 * head that disagrees with its object).
 */
export interface WriteHint {
  readonly loc: KeyLoc;
  readonly head: { readonly value: Head; readonly bytes: Uint8Array };
}

/** Where a key lives: its keyspace, its key hash's two halves, and its canonical bytes (docs/FORMAT.md). */
export interface KeyLoc {
  readonly bucket: string;
  readonly key: Uint8Array;
  readonly ckey: Uint8Array;
  readonly keyspace: number;
  readonly segment32: number;
  readonly alt: number;
}

export interface WriteEntry {
  readonly op: WriteOp;
  readonly basis?: WriteBasis;
  readonly hint?: WriteHint;
}

export interface WriteRequest {
  readonly vnode: number;
  readonly writes: readonly WriteEntry[];
  /** The caller ignores what each write replaced: the answer's `previous` comes back empty. */
  readonly noResult?: boolean;
}

export interface WriteAnswer {
  /**
   * For each write, in order, the head it replaced or decided against (null when the vnode lacked
   * the key). A conditional write landed exactly when this met its condition (`ifDominates`: null
   * or dominated by the object; `ifHeld`: the version named; `ifHash`: that hash). Empty with
   * `noResult`.
   */
  readonly previous: ReadonlyArray<Head | null>;
}

/** The node contract. Requests and answers are plain data (see the file comment). */
export interface NodeService {
  info(options?: CallOptions): Promise<NodeInfo>;
  fold(request: FoldRequest, options?: CallOptions): AsyncIterable<FoldEvent>;
  readHeads(request: ReadRequest, options?: CallOptions): Promise<HeadsAnswer>;
  readObjects(request: ReadRequest, options?: CallOptions): Promise<ObjectsAnswer>;
  write(request: WriteRequest, options?: CallOptions): Promise<WriteAnswer>;
  /** Releases what the handle holds (a local node saves its trees and closes its store; a client closes its channel). */
  close(): Promise<void>;
}

export type { IndexEntry };
