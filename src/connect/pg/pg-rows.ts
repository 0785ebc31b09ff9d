import type { SnapshotRow } from '../feed.js';
import { keyBytesOf } from '../row-bytes.js';
import { ident, qualified } from './pg-connection.js';
import type { StreamTable } from './pg-stream.js';

/**
 * Rows as the keystore reads them: the key columns, the value columns and the updated-at column,
 * each as PostgreSQL's text, in that order (one SELECT list for the snapshot, refetches and
 * repair's checks).
 */

export function selectList(t: StreamTable): string {
  const cols = [...t.key, ...t.columns, ...(t.updatedAt === null ? [] : [t.updatedAt])];
  return cols.map(ident).join(', ');
}

export function selectSql(t: StreamTable): string {
  return `SELECT ${selectList(t)} FROM ${qualified(t.schema, t.table)}`;
}

/** A row of `selectSql` (rowMode array) as a snapshot row; `fallbackTime` when there is no usable updated-at. */
export function rowOf(t: StreamTable, r: ReadonlyArray<string | null>, fallbackTime: number): SnapshotRow {
  const nk = t.key.length;
  const nv = t.columns.length;
  const key = keyBytesOf(r.slice(0, nk) as string[]);
  const values = r.slice(nk, nk + nv);
  let lastModified = fallbackTime;
  if (t.updatedAt !== null) {
    const u = r[nk + nv];
    const ms = typeof u === 'string' ? parseTimestampMs(u) : null;
    if (ms !== null) lastModified = ms;
  }
  return { key, values, lastModified };
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
