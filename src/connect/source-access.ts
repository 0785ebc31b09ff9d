/**
 * What a keystore node (keystore-node.ts) needs from its source besides the feed, the same for
 * every engine and in the keystore's own terms (canonical bytes and their hash, docs/FORMAT.md):
 *
 * - `read`: each key's current value as canonical bytes with its hash (null: absent), what the
 *   node's object reads answer;
 * - `write`: compare-and-set writes of canonical bytes (null: delete). A write with `expect` lands
 *   only while the key still hashes to it (null: the key must still be absent), checked where the
 *   engine makes the check and the write one step (PostgreSQL: the rows read FOR UPDATE in the
 *   write's transaction; Redis: WATCH, then MULTI/EXEC; etcd: a transaction comparing the key's
 *   mod revision). So a write that landed since the decision, a live write, is never overwritten.
 *   A write without `expect` is unconditional. The report says what each write found there.
 *
 * Canonical bytes go back into each engine as its own shape: a row's columns (PostgreSQL), a
 * string, a hash's mapped fields or a collection of the same type (Redis), a value (etcd). Hashes
 * are hash method `value` at seed 0, a keystore's seed (keystoreClusterSpec).
 *
 * Implementations: pg/pg-access.ts, redis/redis-access.ts, etcd/etcd-access.ts; open-source.ts
 * picks one by the spec's engine, over the same connections as the engine's change source.
 */

export interface SourceValue {
  bytes: Uint8Array;
  hash: number;
  /** ms since the epoch: the row's updated-at column, else the time it was read. */
  lastModified: number;
}

export interface SourceWrite {
  key: Uint8Array;
  /** The hash the decision saw: the key must still hash to it; null: it must still be absent; absent: no condition. */
  expect?: number | null;
  /** The canonical bytes to store, or null to delete the key. */
  value: Uint8Array | null;
}

export type SourceWriteOutcome = 'written' | 'skipped';

export interface SourceWriteReport {
  /** One per write, in order. A delete of a key expected absent and still absent counts as written (nothing to do). */
  outcomes: SourceWriteOutcome[];
  /** One per write, in order: the value the write found (its hash and size), or null where the key was absent. */
  found: Array<{ hash: number; size: number } | null>;
  written: number;
  skipped: number;
  /**
   * A feed position at or past every write that landed, where the engine names one with the write
   * (etcd: the revision of the last transaction); undefined: ask the source's current position.
   */
  position?: string;
}

export interface SourceWriteOptions {
  /** Writes per transaction, where the engine batches them (PostgreSQL). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface SourceAccess {
  /** Whether a key of the source can have these bytes (PostgreSQL: the canonical bytes of the key columns). */
  holdsKey(key: Uint8Array): boolean;
  /** Null when `value` can be written as canonical bytes; else why not (checked before anything is written). */
  checkValue(value: Uint8Array): string | null;
  read(keys: readonly Uint8Array[]): Promise<Array<SourceValue | null>>;
  write(writes: readonly SourceWrite[], options?: SourceWriteOptions): Promise<SourceWriteReport>;
  /** Closes what the access opened itself (the change source it shares connections with closes the rest). */
  close(): Promise<void>;
}

/** The totals of a report's outcomes. */
export function reportOf(outcomes: SourceWriteOutcome[], found: SourceWriteReport['found'], position?: string): SourceWriteReport {
  const written = outcomes.filter((o) => o === 'written').length;
  return { outcomes, found, written, skipped: outcomes.length - written, ...(position === undefined ? {} : { position }) };
}
