import type pg from 'pg';
import { AaeError, throwIfAborted } from '../../errors.js';
import { objectHashOfValue } from '../../hash/index.js';
import { canonicalRowBytes, decodeRowBytes, keyBytesOf, type RowValues } from '../row-bytes.js';
import { connect, ident, qualified, sourceError } from './pg-connection.js';
import type { PgSourceSpec } from './pg-spec.js';

/**
 * Repair's writes into a PostgreSQL table: upserts and deletes in batched transactions, each
 * conditional on the row still holding the hash the decision was made on, so a write that landed
 * since (a live write) is never overwritten. The node contract's conditional write (issue 10)
 * will call this for a keystore node.
 *
 * In each batch's transaction the rows are read `FOR UPDATE` (locked until commit) and hashed as
 * the keystore hashes them (canonical row bytes of the value columns). A write whose row no longer
 * matches its expectation is skipped. An insert expected over an absent row uses
 * `ON CONFLICT DO NOTHING` (an absent row cannot be locked: a concurrent insert wins and the write
 * is skipped), which needs a unique index on the key columns (the primary key).
 */

export interface RowWrite {
  key: Uint8Array;
  /** The hash the decision saw: the row must still hash to it; null: the row must still be absent. */
  expect: number | null;
  /** The value columns' texts (in the spec's order) to write, or null to delete the row. */
  row: RowValues | null;
}

export type RowWriteOutcome = 'written' | 'skipped';

export interface RowWriteReport {
  /** One per write, in order. A delete of a row expected absent and still absent counts as written (nothing to do). */
  outcomes: RowWriteOutcome[];
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

/** Rows a transaction holds locked: a few hundred keeps lock time and statement size small. */
const DEFAULT_BATCH = 500;

export async function writeRows(spec: PgSourceSpec, writes: readonly RowWrite[], options: RowWriteOptions = {}): Promise<RowWriteReport> {
  for (const w of writes) {
    if (w.row !== null && w.row.length !== spec.columns.length) {
      throw new AaeError('INVALID_ARGUMENT', `a row to write has ${w.row.length} value(s); the spec hashes ${spec.columns.length} column(s)`);
    }
  }
  const outcomes: RowWriteOutcome[] = [];
  const size = options.batchSize ?? DEFAULT_BATCH;
  const c = await connect(spec.url);
  try {
    for (let i = 0; i < writes.length; i += size) {
      throwIfAborted(options.signal);
      outcomes.push(...(await writeBatch(c, spec, writes.slice(i, i + size), options.seed ?? 0)));
      options.onProgress?.({ done: Math.min(writes.length, i + size), total: writes.length });
    }
  } finally {
    await c.end().catch(() => undefined);
  }
  const written = outcomes.filter((o) => o === 'written').length;
  return { outcomes, written, skipped: outcomes.length - written };
}

async function writeBatch(c: pg.Client, spec: PgSourceSpec, writes: readonly RowWrite[], seed: number): Promise<RowWriteOutcome[]> {
  const table = qualified(spec.schema, spec.table);
  const keyCols = spec.key.map(ident);
  const keyList = `(${keyCols.join(', ')})`;
  const keyTexts = writes.map((w) => decodeRowBytes(w.key, spec.key.length) as string[]);
  const id = (k: Uint8Array): string => Buffer.from(k).toString('latin1');
  try {
    await c.query('BEGIN');
    // The current rows, locked: no write lands between this check and ours.
    const params: string[] = [];
    const tuples = keyTexts.map((texts) => `(${texts.map((t) => (params.push(t), `$${params.length}`)).join(', ')})`);
    const r = await c.query<string[]>({
      text: `SELECT ${[...spec.key, ...spec.columns].map(ident).join(', ')} FROM ${table} WHERE ${keyList} IN (${tuples.join(', ')}) FOR UPDATE`,
      values: params,
      rowMode: 'array',
    });
    const current = new Map<string, number>();
    for (const row of r.rows) {
      const key = keyBytesOf(row.slice(0, spec.key.length) as string[]);
      current.set(id(key), objectHashOfValue(canonicalRowBytes(row.slice(spec.key.length)), seed));
    }
    const out: RowWriteOutcome[] = [];
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      const now = current.get(id(w.key)) ?? null;
      if (now !== w.expect) {
        out.push('skipped');
        continue;
      }
      const keyParams = keyTexts[i]!;
      const where = keyCols.map((k, j) => `${k} = $${j + 1}`).join(' AND ');
      if (w.row === null) {
        if (now !== null) await c.query(`DELETE FROM ${table} WHERE ${where}`, keyParams);
        out.push('written');
      } else if (now === null) {
        const cols = [...keyCols, ...spec.columns.map(ident)];
        const values = [...keyParams, ...w.row];
        const ins = await c.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${values.map((_, j) => `$${j + 1}`).join(', ')}) ON CONFLICT ${keyList} DO NOTHING`, values);
        out.push(ins.rowCount === 1 ? 'written' : 'skipped');
      } else {
        if (spec.columns.length > 0) {
          const set = spec.columns.map((col, j) => `${ident(col)} = $${keyParams.length + j + 1}`).join(', ');
          await c.query(`UPDATE ${table} SET ${set} WHERE ${where}`, [...keyParams, ...w.row]);
        }
        out.push('written');
      }
    }
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw sourceError(e, `repair writes into ${spec.schema}.${spec.table}`);
  }
}
