import { AaeError } from '../../errors.js';
import type { FoldSummary, KeyClock } from '../contract.js';
import { clockCell, clockTie, keyCell, keyClockJson, mergeKeyed, sortKeyed } from './key-list.js';

/**
 * The accumulator of the modules that return keys and clocks (fetch_clocks_nval,
 * fetch_clocks_range, find_tombs): a list bounded by the query's maxResults. The fold refuses to
 * grow it past the bound (FOLD_ACC_OVERFLOW) rather than hold a million clocks by accident.
 */

export type ClockList = KeyClock[];

export function pushClock(name: string, acc: ClockList, k: KeyClock, maxResults: number): ClockList {
  if (acc.length >= maxResults) {
    throw new AaeError('FOLD_ACC_OVERFLOW', `fold ${name}: more than ${maxResults} keys match; narrow the query or raise maxResults`, {
      details: { size: acc.length + 1, bound: maxResults },
    });
  }
  acc.push({ bucket: k.bucket, key: k.key, clock: k.clock, deleted: k.deleted, hash: k.hash });
  return acc;
}

export function mergeClockLists(a: ClockList, b: ClockList): ClockList {
  return mergeKeyed(a, b, clockTie);
}

export function summarizeClocks(acc: ClockList): FoldSummary {
  const sorted = sortKeyed(acc, clockTie);
  return {
    json: { count: sorted.length, keys: sorted.map(keyClockJson) },
    table: {
      head: ['bucket', 'key', 'clock', 'last modified', 'deleted'],
      rows: sorted.map((k) => [k.bucket, keyCell(k.key), clockCell(k.clock), new Date(k.clock.lastModified).toISOString(), k.deleted ? 'yes' : '']),
    },
  };
}
