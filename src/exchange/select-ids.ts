/**
 * Choosing which dirty ids go forward when there are more than a round may take (maxResults).
 *
 * As aae_exchange's select_ids: sort the ids and take the tightest window of `maxResults`
 * consecutive ones — the window whose first and last ids are closest. Neighbouring ids share fetch
 * cost: segments of one branch come in one branch payload, and a fold that fetches clocks for
 * segments scans keys in segment order, so a tight window means fewer branches and shorter scans.
 *
 * Beyond the original: when several windows are equally tight (always the case when the dirty ids
 * are dense, e.g. an empty sink), pick one of them at random rather than the first. A deterministic
 * pick would show every exchange the same window, and one difference that repair cannot fix (a
 * node down, a write refused) would starve all the others. `random` is injected so a test can seed it.
 */

/** At most `maxResults` ids from `ids`, ascending, all consecutive in the sorted distinct input. */
export function selectIds(ids: readonly number[], maxResults: number, random: () => number = Math.random): number[] {
  if (!Number.isInteger(maxResults) || maxResults < 1) {
    throw new TypeError(`maxResults must be a positive integer, got ${maxResults}`);
  }
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  if (sorted.length <= maxResults) return sorted;
  let best = Infinity;
  let starts: number[] = [];
  for (let i = 0; i + maxResults <= sorted.length; i++) {
    const span = sorted[i + maxResults - 1]! - sorted[i]!;
    if (span < best) {
      best = span;
      starts = [i];
    } else if (span === best) {
      starts.push(i);
    }
  }
  const pick = Math.min(starts.length - 1, Math.floor(random() * starts.length));
  const start = starts[pick]!;
  return sorted.slice(start, start + maxResults);
}
