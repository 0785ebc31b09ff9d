/**
 * The confirm step of a tree stage: an id counts as dirty only if it was dirty in the first fetch
 * AND in the second, a pause later. A write in flight (applied on one side, not yet on the other)
 * makes its segment dirty for a moment; it is not a difference, and repairing it would race the
 * write itself.
 */

/** Ids in both lists, ascending, without duplicates. */
export function intersectConfirmed(first: readonly number[], second: readonly number[]): number[] {
  const seen = new Set(second);
  const out = [...new Set(first)].filter((id) => seen.has(id));
  return out.sort((a, b) => a - b);
}
