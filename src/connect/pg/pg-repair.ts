import type pg from 'pg';
import { AaeError, throwIfAborted } from '../../errors.js';
import { objectHashOfValue } from '../../hash/index.js';
import { canonicalRowBytes, decodeRowBytes, keyBytesOf } from '../row-bytes.js';
import type { RowValues } from '../row-bytes.js';
import type { SourceWriteOptions, SourceWriteOutcome, SourceWriteReport } from '../source-access.js';
import { connect, ident, pgCode, qualified, sourceError } from './pg-connection.js';
import type { PgSourceSpec } from './pg-spec.js';

/** A write of a row's value columns (texts, in the spec's order), or null to delete the row; `expect` as in SourceWrite. */
export interface RowWrite {
  key: Uint8Array;
  expect?: number | null;
  row: RowValues | null;
}

export type RowWriteOutcome = SourceWriteOutcome;
export type RowWriteReport = SourceWriteReport;
export interface RowWriteOptions extends SourceWriteOptions {
  /** The hash seed (a keystore's is 0). */
  seed?: number;
}

/**
 * Repair's writes into a PostgreSQL table: upserts and deletes in batched transactions, each
 * conditional on the row still holding the hash the decision was made on, so a write that landed
 * since (a live write) is never overwritten. A keystore node writes this way (pg-access.ts).
 *
 * In each batch's transaction the rows are read `FOR UPDATE` (locked until commit) and hashed as
 * the keystore hashes them (canonical row bytes of the value columns). A write whose row no longer
 * matches its expectation is skipped. An insert expected over an absent row uses
 * `ON CONFLICT DO NOTHING` (an absent row cannot be locked: a concurrent insert wins and the write
 * is skipped), which needs a unique index on the key columns (the primary key).
 *
 * Locks taken in key order by our batches can still meet a live transaction locking in another
 * order: PostgreSQL then aborts one of the two (deadlock, 40P01). Ours is retried, a few times,
 * from the start of its batch (nothing of it landed).
 */

/** Rows a transaction holds locked: a few hundred keeps lock time and statement size small. */
const DEFAULT_BATCH = 500;
/** Tries of a batch that lost a deadlock or a serialization conflict before the failure is reported. */
const MAX_TRIES = 5;
const RETRY_STATES = new Set(['40P01', '40001']);

/** One connection per call; a keystore node keeps a `PgRowWriter` instead. */
export async function writeRows(spec: PgSourceSpec, writes: readonly RowWrite[], options: RowWriteOptions = {}): Promise<RowWriteReport> {
  const w = new PgRowWriter(spec);
  try {
    return await w.writeRows(writes, options);
  } finally {
    await w.close();
  }
}

/** Conditional row writes over one connection, made on first use and kept until `close`; calls take turns on it. */
export class PgRowWriter {
  private client: pg.Client | null = null;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(readonly spec: PgSourceSpec) {}

  writeRows(writes: readonly RowWrite[], options: RowWriteOptions = {}): Promise<RowWriteReport> {
    for (const w of writes) {
      if (w.row !== null && w.row.length !== this.spec.columns.length) {
        return Promise.reject(new AaeError('INVALID_ARGUMENT', `a row to write has ${w.row.length} value(s); the spec hashes ${this.spec.columns.length} column(s)`));
      }
    }
    const run = this.turn.then(() => this.write(writes, options));
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async write(writes: readonly RowWrite[], options: RowWriteOptions): Promise<RowWriteReport> {
    const outcomes: RowWriteOutcome[] = [];
    const found: RowWriteReport['found'] = [];
    const size = options.batchSize ?? DEFAULT_BATCH;
    for (let i = 0; i < writes.length; i += size) {
      throwIfAborted(options.signal);
      const part = writes.slice(i, i + size);
      for (let tries = 1; ; tries++) {
        const c = (this.client ??= await connect(this.spec.url));
        try {
          const r = await writeBatch(c, this.spec, part, options.seed ?? 0);
          outcomes.push(...r.outcomes);
          found.push(...r.found);
          break;
        } catch (e) {
          if (e instanceof AaeError) throw e; // bad input (a key that is not canonical row bytes): nothing was written
          if (tries < MAX_TRIES && RETRY_STATES.has(pgCode(e) ?? '')) continue;
          // The connection may be broken: the next call makes a new one.
          this.client = null;
          await c.end().catch(() => undefined);
          throw sourceError(e, `repair writes into ${this.spec.schema}.${this.spec.table}`);
        }
      }
      options.onProgress?.({ done: Math.min(writes.length, i + size), total: writes.length });
    }
    const written = outcomes.filter((o) => o === 'written').length;
    return { outcomes, found, written, skipped: outcomes.length - written };
  }

  async close(): Promise<void> {
    await this.turn;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}

/** One row by its key, locked for this transaction, as its hash and size; null when absent. */
async function lockedRow(c: pg.Client, spec: PgSourceSpec, table: string, where: string, keyParams: readonly string[], seed: number): Promise<{ hash: number; size: number } | null> {
  const r = await c.query<string[]>({ text: `SELECT ${spec.columns.map(ident).join(', ') || 'NULL'} FROM ${table} WHERE ${where} FOR UPDATE`, values: [...keyParams], rowMode: 'array' });
  const row = r.rows[0];
  if (row === undefined) return null;
  const bytes = canonicalRowBytes(spec.columns.length === 0 ? [] : row);
  return { hash: objectHashOfValue(bytes, seed), size: bytes.byteLength };
}

async function writeBatch(c: pg.Client, spec: PgSourceSpec, writes: readonly RowWrite[], seed: number): Promise<Pick<RowWriteReport, 'outcomes' | 'found'>> {
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
    const current = new Map<string, { hash: number; size: number }>();
    for (const row of r.rows) {
      const key = keyBytesOf(row.slice(0, spec.key.length) as string[]);
      const bytes = canonicalRowBytes(row.slice(spec.key.length));
      current.set(id(key), { hash: objectHashOfValue(bytes, seed), size: bytes.byteLength });
    }
    const outcomes: RowWriteOutcome[] = [];
    const found: RowWriteReport['found'] = [];
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      const was = current.get(id(w.key)) ?? null;
      found.push(was);
      if (w.expect !== undefined && (was === null ? w.expect !== null : w.expect !== was.hash)) {
        outcomes.push('skipped');
        continue;
      }
      const keyParams = keyTexts[i]!;
      const where = keyCols.map((k, j) => `${k} = $${j + 1}`).join(' AND ');
      if (w.row === null) {
        if (was !== null) await c.query(`DELETE FROM ${table} WHERE ${where}`, keyParams);
        outcomes.push('written');
      } else if (was === null) {
        const cols = [...keyCols, ...spec.columns.map(ident)];
        const values = [...keyParams, ...w.row];
        // Expected absent: a row inserted meanwhile wins. Unconditional: it is overwritten.
        const onConflict =
          w.expect === undefined && spec.columns.length > 0 ? `DO UPDATE SET ${spec.columns.map((col) => `${ident(col)} = EXCLUDED.${ident(col)}`).join(', ')}` : 'DO NOTHING';
        const ins = await c.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${values.map((_, j) => `$${j + 1}`).join(', ')}) ON CONFLICT ${keyList} ${onConflict}`, values);
        if (ins.rowCount === 1 || w.expect === undefined) outcomes.push('written');
        else {
          // A row inserted by a live writer since our check (its insert held the key, ours waited and
          // did nothing): what the write found is that row, so the caller sees it lost, not landed.
          found[i] = await lockedRow(c, spec, table, where, keyParams, seed);
          outcomes.push('skipped');
        }
      } else {
        if (spec.columns.length > 0) {
          const set = spec.columns.map((col, j) => `${ident(col)} = $${keyParams.length + j + 1}`).join(', ');
          await c.query(`UPDATE ${table} SET ${set} WHERE ${where}`, [...keyParams, ...w.row]);
        }
        outcomes.push('written');
      }
    }
    await c.query('COMMIT');
    return { outcomes, found };
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
