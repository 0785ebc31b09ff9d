import { makeClock, type Clock } from '../../src/cluster/clock.js';
import type { ExchangeOptions, ExchangeSource, MemorySource } from '../../src/exchange/index.js';

/** A seeded random in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const clock = (actor: string, counter: number, t = 1_700_000_000_000): Clock => makeClock([[actor, counter]], t);

/** No real pauses in tests; the number of pauses taken is counted. */
export function fastOptions(extra: ExchangeOptions = {}): ExchangeOptions & { pauses: number[] } {
  const pauses: number[] = [];
  return {
    pauses,
    random: seeded(7),
    sleep: (ms: number) => {
      pauses.push(ms);
      return Promise.resolve();
    },
    ...extra,
  };
}

/** A source that runs `before(call)` ahead of each of its calls (calls numbered from 1, all methods). */
export function hooked(inner: MemorySource, before: (call: number) => void): ExchangeSource & { count: () => number } {
  let n = 0;
  const tick = (): void => before(++n);
  return {
    count: () => n,
    describe: () => inner.describe(),
    fetchRoot: (s, o) => (tick(), inner.fetchRoot(s, o)),
    fetchBranches: (s, ids, o) => (tick(), inner.fetchBranches(s, ids, o)),
    fetchClocks: (s, segs, o) => (tick(), inner.fetchClocks(s, segs, o)),
    fetchHashes: (s, r, o) => (tick(), inner.fetchHashes(s, r, o)),
  };
}
