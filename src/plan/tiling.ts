/**
 * The offset, and the tiling of the ring it stands for.
 *
 * An offset is one integer in 0 … ringSize·nVal − 1 with two parts:
 *
 *     rotation = ⌊offset / nVal⌋   where the tiling starts (a keyspace, 0 … ringSize−1)
 *     shift    = offset mod nVal   which replica answers (0 … nVal−1)
 *
 * From the rotation, the ring is cut into blocks of nVal consecutive keyspaces:
 * [rot, rot+nVal−1], [rot+nVal, rot+2·nVal−1], … and, when nVal does not divide the ring (a
 * power-of-two ring with nVal 3 or 5 never divides), one short block of `ringSize mod nVal`
 * keyspaces that closes the circle just before `rot`.
 *
 * The keyspace at position i (0-based) of its block prefers replica
 *
 *     (nVal − 1 − i + shift) mod nVal       (replica j of keyspace k is vnode k + j)
 *
 * With shift 0 every keyspace of a block prefers the block's last vnode, which holds the whole
 * block: ⌈ringSize/nVal⌉ vnodes cover the ring, as in riak_core's planner, whose first class of
 * vnodes is every nVal'th one from a rotation point. With shift s the blocks slide by s: still one
 * full vnode per block, plus at most one extra vnode where the short block meets the first one.
 *
 * Why two parts and not riak_core's single rotation: riak_core draws a rotation in 0 … ringSize−1
 * and walks every nVal'th vnode from it. When nVal does not divide the ring, the walk wraps
 * unevenly, and two rotations that differ by one can send a keyspace near the wrap to the same
 * vnode (ring 16, nVal 3: rotations 0 and 1 both ask vnode 0 for keyspace 14). Here, for any one
 * rotation, the preferred replica is a bijection of the shift for every keyspace, short block
 * included: offsets r·nVal … r·nVal + nVal − 1 ask nVal different replicas for each keyspace, which
 * is what comparing a cluster's replicas with each other needs. A random offset varies both parts,
 * so load spreads over the ring and over the replicas.
 */

export interface DecodedOffset {
  rotation: number;
  shift: number;
}

/** How many distinct offsets a ring has: ringSize · nVal. */
export function offsetCount(ringSize: number, nVal: number): number {
  return ringSize * nVal;
}

export function decodeOffset(offset: number, nVal: number): DecodedOffset {
  return { rotation: Math.floor(offset / nVal), shift: offset % nVal };
}

export function encodeOffset({ rotation, shift }: DecodedOffset, nVal: number): number {
  return rotation * nVal + shift;
}

/** Position of keyspace k inside its block (0 … nVal−1; the short block uses 0 … short−1). */
export function positionInBlock(keyspace: number, rotation: number, ringSize: number, nVal: number): number {
  return ((keyspace - rotation + ringSize) % ringSize) % nVal;
}

/** The replica (0 … nVal−1) that keyspace k prefers under this rotation and shift. */
export function preferredReplica(
  keyspace: number,
  rotation: number,
  shift: number,
  ringSize: number,
  nVal: number,
): number {
  const i = positionInBlock(keyspace, rotation, ringSize, nVal);
  return (nVal - 1 - i + shift) % nVal;
}

/**
 * The keyspaces a sample of `count` covers: whole blocks of the tiling (a block under shift 0 is
 * one unfiltered vnode, so a sample asks as few vnodes as it can), chosen evenly spaced around the
 * ring, the last one cut so that exactly `count` keyspaces are wanted. Ascending.
 *
 * The choice depends on the rotation only, never on the shift: offsets that share a rotation
 * sample the same keyspaces from different replicas.
 */
export function sampleKeyspaces(count: number, rotation: number, ringSize: number, nVal: number): number[] {
  if (count >= ringSize) return Array.from({ length: ringSize }, (_, k) => k);
  const blocks = Math.ceil(ringSize / nVal);
  const chosen = Math.ceil(count / nVal);
  // When chosen < blocks, ⌊j·blocks/chosen⌋ for j < chosen never reaches the last (possibly short)
  // block, so the chosen blocks are full and hold chosen·nVal ≥ count keyspaces; when chosen ===
  // blocks, every block is chosen and they hold the whole ring.
  const out: number[] = [];
  for (let j = 0; j < chosen; j++) {
    const block = Math.floor((j * blocks) / chosen);
    const length = Math.min(nVal, ringSize - block * nVal);
    for (let i = 0; i < length && out.length < count; i++) {
      out.push((rotation + block * nVal + i) % ringSize);
    }
  }
  return out.sort((a, b) => a - b);
}
