import { AaeError } from '../../errors.js';

/**
 * Ascending ids as runs: `[start, length, start, length, …]`. An exchange asks for the children of
 * its dirty words — runs of 16 or 32 consecutive ids — and for a whole top (one run), so runs are
 * how a query names its ids compactly: ~100 runs instead of ~3,000 numbers of up to 5 bytes each in
 * a request that crosses the network (docs/PROTOCOL.md).
 */

/** The runs of ascending distinct ids. */
export function toRuns(ids: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i + 1;
    while (j < ids.length && ids[j] === ids[j - 1]! + 1) j++;
    out.push(ids[i]!, j - i);
    i = j;
  }
  return out;
}

/** The ids of runs, checked: pairs, positive lengths, ascending without overlap, every id below `limit`, at most `max` ids. */
export function fromRuns(module: string, runs: readonly number[], limit: number, max: number): number[] {
  if (runs.length % 2 !== 0) throw new AaeError('FOLD_QUERY_INVALID', `${module}: runs must be [start, length] pairs`);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const start = runs[i]!;
    const length = runs[i + 1]!;
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < next || length < 1 || start + length > limit) {
      throw new AaeError('FOLD_QUERY_INVALID', `${module}: runs must ascend without overlap, each of length ≥ 1 and below ${limit}`);
    }
    if (out.length + length > max) throw new AaeError('FOLD_QUERY_INVALID', `${module}: runs name more than ${max} ids`);
    for (let k = 0; k < length; k++) out.push(start + k);
    next = start + length;
  }
  if (out.length === 0) throw new AaeError('FOLD_QUERY_INVALID', `${module}: runs name no id`);
  return out;
}
