import type { RowValues } from './row-bytes.js';

/**
 * The engine-neutral change feed: what an engine (PostgreSQL now; Redis and etcd next) delivers
 * and what the follower (follower.ts) does with it. Rows arrive as lists of texts (row-bytes.ts);
 * positions are the engine's own, opaque here but ordered by `comparePositions`.
 *
 * An engine opens a *subscription* whose changes start exactly where a consistent snapshot ends
 * (Riak's parallel keystore: subscribe first, snapshot, then apply what arrived meanwhile), streams
 * committed transactions from a position, and is told (`acknowledge`) only what is durable.
 */

export interface SnapshotRow {
  key: Uint8Array;
  values: RowValues;
  /** ms since the epoch (the updated-at column, or the snapshot's time). */
  lastModified: number;
  /** Set when the engine hashed the value itself (a big Redis value, streamed in chunks): then `values` is ignored. */
  digest?: ValueDigest;
}

/** The hash (hash method `value`, seed 0) and size of a value's canonical bytes, computed without holding them. */
export interface ValueDigest {
  hash: number;
  size: number;
}

export type FeedChange =
  | { kind: 'upsert'; key: Uint8Array; values: RowValues; lastModified: number; digest?: ValueDigest }
  | { kind: 'delete'; key: Uint8Array }
  /** Every key of the source goes (SQL TRUNCATE). */
  | { kind: 'truncate' }
  /** The key changed but the event does not carry its whole row (an unchanged TOASTed column): read it. */
  | { kind: 'refetch'; key: Uint8Array };

export interface FeedTransaction {
  /** The position just past this transaction: resuming here skips it and nothing after it. */
  position: string;
  /**
   * The position as a clock counter in the subscription's history (keystore-clock.ts): a safe
   * integer that grows with `position`. Absent: the engine has none, and rows get hash clocks.
   */
  counter?: number;
  /** Commit time, ms since the epoch. */
  commitTime: number;
  changes: FeedChange[];
}

export type FeedBatch =
  | { kind: 'transactions'; transactions: FeedTransaction[] }
  /** Nothing pending: every transaction committed before `position` has been delivered. */
  | { kind: 'idle'; position: string };

export interface FeedStream {
  /** The next batch (waits for one); rejects with SOURCE_UNAVAILABLE (reconnect) or FEED_GAP (rebuild). */
  next(signal?: AbortSignal): Promise<FeedBatch>;
  /** Tells the source that everything up to `position` is durable here (it may free it). */
  acknowledge(position: string): Promise<void>;
  close(): Promise<void>;
}

export interface Subscription {
  readonly name: string;
  /** Where the subscription's changes start: the snapshot holds everything before it. */
  readonly position: string;
  /**
   * The history the subscription follows, for position clocks (keystore-clock.ts): its actor, and
   * `position` as a counter (the clock of every snapshot row). Absent: the engine has no positions
   * that can order versions (Redis), and every row gets a hash clock.
   */
  readonly clock?: { readonly actor: string; readonly counter: number };
  /** The snapshot's rows, in batches. */
  rows(signal?: AbortSignal): AsyncIterable<SnapshotRow[]>;
  /** Ends the snapshot (the subscription stays). */
  close(): Promise<void>;
}

/** One engine's side of a keystore. */
export interface ChangeSource {
  /** Creates subscription `name` with its snapshot. */
  subscribe(name: string, options?: { signal?: AbortSignal }): Promise<Subscription>;
  /** Null when `name` can resume from `position`; otherwise the gap, in words. */
  checkResume(name: string, position: string): Promise<string | null>;
  stream(name: string, position: string): Promise<FeedStream>;
  /** The source's current position (what a catch-up must reach). */
  currentPosition(): Promise<string>;
  /** < 0, 0, > 0 as a is before, at, after b. */
  comparePositions(a: string, b: string): number;
  /** How far b is past a, in the engine's unit (PostgreSQL: WAL bytes); 0 when b ≤ a. */
  distance(a: string, b: string): number;
  /** Current rows of some keys (null: gone), for refetch. */
  fetchRows(keys: readonly Uint8Array[]): Promise<Array<SnapshotRow | null>>;
  /** Drops a subscription if it exists. */
  drop(name: string): Promise<void>;
  close(): Promise<void>;
}
