import { clockEntriesToJson, keyToJson, type BytesJson, type Clock } from '../../cluster/index.js';
import { compareBytes } from '../../hash/index.js';
import type { KeyClock } from '../contract.js';

/**
 * Key lists, the accumulator of every module that returns keys (fetch_clocks_*, find_keys,
 * find_tombs): an array the fold appends to, merged by sorting the union by (bucket, key bytes, a
 * tie-break) and dropping exact repeats — Riak's lists:umerge. Sorting in merge (not in the fold)
 * keeps the hot path an append, and makes merge commutative whatever order entries arrived in.
 */

export interface Keyed {
  bucket: string;
  key: Uint8Array;
}

export function compareKeyed(a: Keyed, b: Keyed): number {
  if (a.bucket !== b.bucket) return a.bucket < b.bucket ? -1 : 1;
  return compareBytes(a.key, b.key);
}

/** The sorted union without exact repeats; `tie` orders (and identifies) entries of one key. */
export function mergeKeyed<T extends Keyed>(a: readonly T[], b: readonly T[], tie: (t: T) => string): T[] {
  const all = [...a, ...b];
  const ties = new Map<T, string>();
  const tieOf = (t: T): string => {
    let s = ties.get(t);
    if (s === undefined) ties.set(t, (s = tie(t)));
    return s;
  };
  all.sort((x, y) => compareKeyed(x, y) || (tieOf(x) < tieOf(y) ? -1 : tieOf(x) > tieOf(y) ? 1 : 0));
  const out: T[] = [];
  for (const t of all) {
    const last = out[out.length - 1];
    if (last !== undefined && compareKeyed(last, t) === 0 && tieOf(last) === tieOf(t)) continue;
    out.push(t);
  }
  return out;
}

export function sortKeyed<T extends Keyed>(list: readonly T[], tie: (t: T) => string): T[] {
  return mergeKeyed(list, [], tie);
}

/** A clock as a sortable, comparable string (entries then time). */
export function clockTie(c: { clock: Clock; deleted?: boolean; hash?: number }): string {
  return `${JSON.stringify(c.clock.entries)}|${c.clock.lastModified}|${c.deleted === true ? 1 : 0}|${c.hash ?? ''}`;
}

export interface KeyClockJson {
  bucket: string;
  key: BytesJson;
  clock: Array<[string, number]>;
  lastModified: number;
  deleted: boolean;
  /** The object hash (the value's, under hash method `value`). */
  hash: number;
}

export function keyClockJson(k: KeyClock): KeyClockJson {
  return { bucket: k.bucket, key: keyToJson(k.key), clock: clockEntriesToJson(k.clock), lastModified: k.clock.lastModified, deleted: k.deleted, hash: k.hash };
}

/** A key for a table cell: its text, or base64 for bytes that are not UTF-8. */
export function keyCell(key: Uint8Array): string {
  const j = keyToJson(key);
  return typeof j === 'string' ? j : `base64:${j.base64}`;
}

export function clockCell(clock: Clock): string {
  return clock.entries.map(([a, c]) => `${a}:${c}`).join(',');
}
