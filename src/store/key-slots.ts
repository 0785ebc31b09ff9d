import type { LocatedKey } from './locate.js';

/**
 * The distinct keys of one flush, numbered in order of first appearance. A flush may hold the same
 * key twice (the later op must see the earlier op's head, not the stored one), so it needs "have I
 * seen this key?" per op. A string of the key bytes as a Map key costs an allocation and a string
 * hash per op; the key's segment32 is already a 32-bit hash of it, so keys are looked up by that
 * number and compared byte for byte only when two share it.
 */
export class KeySlots {
  private readonly first = new Map<number, number>();
  /** Per slot: the next slot with the same segment32, or −1. */
  private readonly next: number[] = [];
  private readonly keys: Uint8Array[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** The slot of the key: the existing one if it was seen, else a new one (numbered `size` before the call). */
  slotOf(loc: LocatedKey): number {
    // As int32: a small integer to V8 (a uint32 above 2^31 would be a heap number to hash).
    const h = loc.segment32 | 0;
    const head = this.first.get(h);
    if (head !== undefined) {
      let last = head;
      for (let s = head; s >= 0; s = this.next[s]!) {
        if (sameBytes(this.keys[s]!, loc.ckey)) return s;
        last = s;
      }
      return this.push(loc.ckey, last);
    }
    const s = this.push(loc.ckey, -1);
    this.first.set(h, s);
    return s;
  }

  private push(ckey: Uint8Array, after: number): number {
    const s = this.keys.length;
    this.keys.push(ckey);
    this.next.push(-1);
    if (after >= 0) this.next[after] = s;
    return s;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
