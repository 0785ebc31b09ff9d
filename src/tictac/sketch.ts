/**
 * A linear sketch of tree words: 64 bits that say, with certainty when they differ and with
 * probability 1 − 2⁻⁶⁴ when they agree, whether two lists of words are equal.
 *
 * Why linear. A served cluster's tree words are the XOR of its nodes' partial words (each node
 * folds only the keyspaces its vnodes answer for), and a cluster's the XOR of its trees'. A
 * sketch that is linear over XOR — sketch(a ⊕ b) = sketch(a) ⊕ sketch(b) — can be taken on every
 * node over its own partial words and the 8-byte answers XORed by the coordinator, giving the
 * sketch of the whole cluster's words: two clusters of any shape compare their tops with 8 bytes
 * a node instead of 8 KiB (a large tree's top of 2048 words). An ordinary hash of the words cannot
 * do this: the hash of an XOR is not the XOR of hashes.
 *
 * The sketch is 64 random parities: bit j is the parity of (words · mask_j), the masks drawn from
 * `seed` (a fresh one per exchange, so no difference escapes every exchange). For any fixed
 * non-zero difference between two word lists each bit is an independent fair coin, so two lists
 * that differ get equal sketches with probability 2⁻⁶⁴. Masks come from a splitmix32 stream keyed
 * by (seed, word index): a zero word costs nothing, and a word's masks do not depend on which other
 * words a node holds.
 *
 * Cost: 64 mask words per non-zero word — a 2048-word top ≈ 0.1 ms.
 */

/** splitmix32's finaliser: a well-mixed 32-bit value of `x`. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** XORs into `out` (two words) the sketch of `words`, word i standing at index `ids[i]`. */
export function sketchWordsInto(out: Uint32Array, words: Uint32Array, ids: ArrayLike<number>, seed: number): void {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 0) continue;
    // A per-index stream: mask j of index id is mix(key + j·golden).
    let s = mix((seed ^ Math.imul(ids[i]!, 0x9e3779b1)) >>> 0);
    for (let j = 0; j < 32; j++) {
      s = (s + 0x9e3779b9) >>> 0;
      lo ^= parity(w & mix(s)) << j;
    }
    for (let j = 0; j < 32; j++) {
      s = (s + 0x9e3779b9) >>> 0;
      hi ^= parity(w & mix(s)) << j;
    }
  }
  out[0]! ^= lo >>> 0;
  out[1]! ^= hi >>> 0;
}

function parity(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  x ^= x >>> 2;
  x ^= x >>> 1;
  return x & 1;
}
