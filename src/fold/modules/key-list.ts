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

/**
 * A list capped at `max` entries that truncates instead of failing (find_tombs, find_keys): the
 * result is the first `max` distinct entries in (bucket, key, tie) order, and `truncated` says
 * there were more. Choosing by order, not by arrival, keeps the laws: folding a split data set and
 * merging gives the same first `max` as folding the whole. The fold appends and trims once the
 * list reaches 2·max (a sort per `max` arrivals), so the bound a module declares is 2·max.
 */
export interface CappedList<T> {
  readonly items: T[];
  truncated: boolean;
}

export function emptyCapped<T>(): CappedList<T> {
  return { items: [], truncated: false };
}

function firstDistinct<T extends Keyed>(items: readonly T[], max: number, tie: (t: T) => string): { items: T[]; over: boolean } {
  const sorted = sortKeyed(items, tie);
  return sorted.length > max ? { items: sorted.slice(0, max), over: true } : { items: sorted, over: false };
}

/** Appends `item` (the fold owns `acc`); past 2·max entries, keeps the first max. */
export function pushCapped<T extends Keyed>(acc: CappedList<T>, item: T, max: number, tie: (t: T) => string): CappedList<T> {
  acc.items.push(item);
  if (acc.items.length >= 2 * max) {
    const kept = firstDistinct(acc.items, max, tie);
    acc.items.length = 0;
    for (const t of kept.items) acc.items.push(t);
    acc.truncated ||= kept.over;
  }
  return acc;
}

export function mergeCapped<T extends Keyed>(a: CappedList<T>, b: CappedList<T>, max: number, tie: (t: T) => string): CappedList<T> {
  const kept = firstDistinct([...a.items, ...b.items], max, tie);
  return { items: kept.items, truncated: a.truncated || b.truncated || kept.over };
}

/** The result: the first `max` distinct entries, sorted, and whether any were left out. */
export function finishCapped<T extends Keyed>(acc: CappedList<T>, max: number, tie: (t: T) => string): CappedList<T> {
  const kept = firstDistinct(acc.items, max, tie);
  return { items: kept.items, truncated: acc.truncated || kept.over };
}
