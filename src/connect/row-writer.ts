import type { RowValues } from './row-bytes.js';

/**
 * Writing rows into a keystore's source, engine-neutral: what a keystore node (keystore-node.ts)
 * asks of an engine that can be written (PostgreSQL: pg/pg-repair.ts). An engine that cannot be
 * written has none, and its keystores declare `writes: false`.
 *
 * Each write names the hash its decision was made on: the row must still hash to it (null: the
 * row must still be absent), checked where the engine can make the check and the write one step
 * (PostgreSQL: the rows read FOR UPDATE in the write's transaction). So a write that landed since
 * the decision, a live write, is never overwritten. A write without `expect` is unconditional.
 */

export interface RowWrite {
  key: Uint8Array;
  /** The hash the decision saw: the row must still hash to it; null: the row must still be absent; absent: no condition. */
  expect?: number | null;
  /** The value columns' texts (in the spec's order) to write, or null to delete the row. */
  row: RowValues | null;
}

export type RowWriteOutcome = 'written' | 'skipped';

export interface RowWriteReport {
  /** One per write, in order. A delete of a row expected absent and still absent counts as written (nothing to do). */
  outcomes: RowWriteOutcome[];
  /** One per write, in order: the row the write found (its hash and size), or null where it was absent. */
  found: Array<{ hash: number; size: number } | null>;
  written: number;
  skipped: number;
}

export interface RowWriteOptions {
  /** Writes per transaction. */
  batchSize?: number;
  /** The keystore's hash seed (0). */
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** An engine's conditional row writes, over connections it keeps until `close`. */
export interface RowWriter {
  writeRows(writes: readonly RowWrite[], options?: RowWriteOptions): Promise<RowWriteReport>;
  close(): Promise<void>;
}
