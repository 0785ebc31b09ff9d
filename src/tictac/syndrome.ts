/**
 * Syndromes: where in a group of tree words the one difference is, for a few words instead of the
 * group. A dirty top word of a large tree covers 512 leaves; with 100 differences among a million
 * keys nearly every dirty word holds exactly one. Sending its 512 leaves (2 KiB) to find that one
 * costs 40× what this does: for a group of F = 2^k child words c_0 … c_{F−1}, the syndrome is
 *
 *   total    = ⊕ c_i                         (the group's own word: its second look)
 *   s_b      = ⊕ { c_i : bit b of i is 1 }     for b < k
 *   check    = ⊕ rotl(c_i, r_i)                r_i ∈ 1…31 drawn from (seed, group, i)
 *
 * k + 2 words (11 for 512 children). Every part is linear over XOR, so a node's syndrome is the
 * XOR of its trees', a side's the XOR of its nodes', and XORing the two sides' syndromes gives the
 * syndrome of the difference. If exactly one child differs, by δ at position p, then total = δ,
 * s_b = δ exactly where bit b of p is 1 and 0 elsewhere — p is read off the bits — and check =
 * rotl(δ, r_p), which confirms it. Two differing children always show (some bit of their positions
 * differs, and that s_b is neither 0 nor δ); three or more could alias only if check matched by
 * chance as well. A group that does not decode says so ('many'), and the exchange fetches its
 * children the ordinary way.
 */

/** Words in one group's syndrome: total, one per bit of the child index, check. */
export function syndromeWords(fanout: number): number {
  return Math.log2(fanout) + 2;
}

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** The rotation of child i of group g under seed: 1…31. */
function rotationOf(seed: number, group: number, i: number): number {
  return (mix((seed ^ Math.imul(group, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0) % 31) + 1;
}

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/**
 * XORs into `out` (at `offset`, syndromeWords(fanout) words) the syndrome of the `fanout` child
 * words `children[from … from+fanout)` of group `group`.
 */
export function syndromeInto(out: Uint32Array, offset: number, children: Uint32Array, from: number, fanout: number, group: number, seed: number): void {
  const k = Math.log2(fanout);
  for (let i = 0; i < fanout; i++) {
    const w = children[from + i]!;
    if (w === 0) continue;
    out[offset]! ^= w;
    for (let b = 0; b < k; b++) if (((i >>> b) & 1) === 1) out[offset + 1 + b]! ^= w;
    out[offset + 1 + k]! ^= rotl(w, rotationOf(seed, group, i));
  }
}

export type SyndromeVerdict = { kind: 'clean' } | { kind: 'one'; child: number } | { kind: 'many' };

/** What the two sides' syndromes of group `group` (each at `offset`) say about the difference. */
export function decodeSyndrome(blue: Uint32Array, pink: Uint32Array, offset: number, fanout: number, group: number, seed: number): SyndromeVerdict {
  const k = Math.log2(fanout);
  const delta = (blue[offset]! ^ pink[offset]!) >>> 0;
  let zero = delta === 0;
  for (let j = 1; j < k + 2; j++) if (((blue[offset + j]! ^ pink[offset + j]!) >>> 0) !== 0) zero = false;
  if (zero) return { kind: 'clean' };
  if (delta === 0) return { kind: 'many' }; // the group's words cancel but its parts do not: two or more
  let p = 0;
  for (let b = 0; b < k; b++) {
    const e = (blue[offset + 1 + b]! ^ pink[offset + 1 + b]!) >>> 0;
    if (e === delta) p |= 1 << b;
    else if (e !== 0) return { kind: 'many' };
  }
  const check = (blue[offset + 1 + k]! ^ pink[offset + 1 + k]!) >>> 0;
  return check === rotl(delta, rotationOf(seed, group, p)) ? { kind: 'one', child: p } : { kind: 'many' };
}
