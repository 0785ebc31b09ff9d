/**
 * The confirm step of a tree stage: an id counts as dirty only if it was dirty in one fetch AND in
 * another, a pause later. A write in flight (applied on one side, not yet on the other) makes its
 * segment dirty for a moment; it is not a difference, and repairing it would race the write itself.
 *
 * Two ways to look twice:
 * - intersectConfirmed: the same ids fetched twice (the classic walk re-fetches them);
 * - confirmByChildren: the second look at a parent is the XOR of its children, fetched a pause
 *   later for the next level anyway. A word at width w IS the XOR of its children's words, so a
 *   confirm round need re-send nothing: the children carry the parent's second look for free.
 */
import { AaeError } from '../errors.js';

/** Ids in both lists, ascending, without duplicates. */
export function intersectConfirmed(first: readonly number[], second: readonly number[]): number[] {
  const seen = new Set(second);
  const out = [...new Set(first)].filter((id) => seen.has(id));
  return out.sort((a, b) => a - b);
}

export interface ChildConfirmation {
  /** Parents whose children's XOR differs between the sides: dirty at both looks. */
  readonly confirmed: number[];
  /** Children that differ and whose parent is confirmed, ascending. */
  readonly dirty: number[];
}

/**
 * `parents` (ascending) were dirty at the first look; `blue[i]`, `pink[i]` are the two sides' words
 * for the i-th child, the children of each parent being `fanOut` consecutive entries in parent order
 * (child id = parent · fanOut + k). A parent whose children XOR to equal words on both sides has
 * healed (a write landed) and is dropped with its children.
 */
export function confirmByChildren(parents: readonly number[], fanOut: number, blue: Uint32Array, pink: Uint32Array): ChildConfirmation {
  if (blue.length !== parents.length * fanOut || pink.length !== blue.length) {
    throw new AaeError('TREE_ROOT_INVALID', `expected ${parents.length * fanOut} child words from each side, got ${blue.length} and ${pink.length}`);
  }
  const confirmed: number[] = [];
  const dirty: number[] = [];
  for (let p = 0; p < parents.length; p++) {
    let xb = 0;
    let xp = 0;
    const first = p * fanOut;
    for (let k = first; k < first + fanOut; k++) {
      xb ^= blue[k]!;
      xp ^= pink[k]!;
    }
    if (xb === xp) continue;
    const parent = parents[p]!;
    confirmed.push(parent);
    for (let k = 0; k < fanOut; k++) if (blue[first + k] !== pink[first + k]) dirty.push(parent * fanOut + k);
  }
  return { confirmed, dirty };
}
