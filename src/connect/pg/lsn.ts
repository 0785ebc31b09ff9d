import { AaeError } from '../../errors.js';

/**
 * PostgreSQL log sequence numbers: `X/Y`, two hex words of a 64-bit WAL byte position. Kept as
 * text in files (as PostgreSQL prints them) and as bigint for arithmetic.
 */

const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): bigint {
  const m = LSN.exec(text);
  if (m === null) throw new AaeError('INVALID_ARGUMENT', `not a PostgreSQL LSN: '${text}'`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  if (lsn < 0n || lsn >= 1n << 64n) throw new AaeError('INVALID_ARGUMENT', `LSN out of range: ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

export function compareLsn(a: string, b: string): number {
  const x = parseLsn(a);
  const y = parseLsn(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Bytes of WAL from a to b (0 when b ≤ a). */
export function lsnDistance(a: string, b: string): number {
  const d = parseLsn(b) - parseLsn(a);
  return d > 0n ? Number(d) : 0;
}
