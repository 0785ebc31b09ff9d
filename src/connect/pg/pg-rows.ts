import type { SnapshotRow } from '../feed.js';
import { keyBytesOf, type RowValue } from '../row-bytes.js';
import { ident, qualified } from './pg-connection.js';

/**
 * Rows as the keystore reads them: the key columns, the value columns and the updated-at column,
 * each as PostgreSQL's text, in that order (one SELECT list for the snapshot, refetches and
 * repair's checks).
 */

/** The table and columns a keystore reads (its spec's source section, minus the connection). */
export interface StreamTable {
  schema: string;
  table: string;
  key: readonly string[];
  columns: readonly string[];
  updatedAt: string | null;
}

export function selectList(t: StreamTable): string {
  const cols = [...t.key, ...t.columns, ...(t.updatedAt === null ? [] : [t.updatedAt])];
  return cols.map(ident).join(', ');
}

export function selectSql(t: StreamTable): string {
  return `SELECT ${selectList(t)} FROM ${qualified(t.schema, t.table)}`;
}

const latin1 = new TextDecoder('latin1');

/**
 * A row of `selectSql` (texts, or their UTF-8 bytes) as a snapshot row; `fallbackTime` when there
 * is no usable updated-at. A one-column key is its field as it is (bytes are not copied).
 */
export function rowOf(t: StreamTable, r: ReadonlyArray<RowValue>, fallbackTime: number): SnapshotRow {
  const nk = t.key.length;
  const nv = t.columns.length;
  const key = nk === 1 && r[0] instanceof Uint8Array ? r[0] : keyBytesOf(r.slice(0, nk) as Array<string | Uint8Array>);
  const values = nv === 1 ? [r[nk]!] : r.slice(nk, nk + nv);
  let lastModified = fallbackTime;
  if (t.updatedAt !== null) {
    const u = r[nk + nv];
    // A timestamp's text is ASCII: latin1 decodes its bytes exactly.
    const ms = u === null || u === undefined ? null : parseTimestampMs(typeof u === 'string' ? u : latin1.decode(u));
    if (ms !== null) lastModified = ms;
  }
  return { key, values, lastModified };
}

/** The number of fields `selectSql` returns a row. */
export function selectWidth(t: StreamTable): number {
  return t.key.length + t.columns.length + (t.updatedAt === null ? 0 : 1);
}

/**
 * A timestamp, timestamptz or date as PostgreSQL prints it under DateStyle ISO and TimeZone UTC
 * ("2024-05-01 10:00:00.123456+00", "2024-05-01 10:00:00", "2024-05-01"), in ms; null for
 * anything else (infinity, BC dates, other types): the caller falls back to the commit time.
 */
export function parseTimestampMs(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2})(\.\d+)?)?([+-]\d{2}(?::?\d{2})?(?::?\d{2})?)?$/.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac, tz] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), frac === undefined ? 0 : Math.floor(Number(frac) * 1000));
  if (tz !== undefined) {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(/:/g, '');
    const offset = Number(digits.slice(0, 2)) * 3600_000 + Number(digits.slice(2, 4) || '0') * 60_000 + Number(digits.slice(4, 6) || '0') * 1000;
    ms -= sign * offset;
  }
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}
