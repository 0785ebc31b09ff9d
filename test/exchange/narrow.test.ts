import { beforeAll, describe, expect, it } from 'vitest';
import { makeClock } from '../../src/cluster/index.js';
import { MemorySource, runExchange, type ExchangeScope, type FetchOptions, type HashesRequest } from '../../src/exchange/index.js';
import { NARROW_SEGMENTS, narrowed } from '../../src/exchange/side.js';
import { initHash } from '../../src/hash/index.js';

beforeAll(async () => {
  await initHash();
});

/** A MemorySource that records the scope of every fetchHashes call. */
class Recording extends MemorySource {
  readonly scopes: ExchangeScope[] = [];
  override fetchHashes(scope: ExchangeScope, request: HashesRequest, options: FetchOptions): Promise<Uint32Array> {
    this.scopes.push(scope);
    return super.fetchHashes(scope, request, options);
  }
}

describe('partial exchanges narrow with segment filters once few segments stay dirty', () => {
  it('narrowed() covers exactly the segments under the words asked for, and only for small range rounds', () => {
    const range: ExchangeScope = { kind: 'range', treeSize: 'small', bucket: 'b' };
    expect(narrowed(range, 4, [2, 5])).toEqual({ ...range, segments: { ids: [8, 9, 10, 11, 20, 21, 22, 23], treeSize: 'small' } });
    expect(narrowed(range, NARROW_SEGMENTS, [0, 1])).toBe(range);
    expect(narrowed({ kind: 'full' }, 1, [3])).toEqual({ kind: 'full' });
    const filtered: ExchangeScope = { ...range, segments: { ids: [1], treeSize: 'small' } };
    expect(narrowed(filtered, 1, [1])).toBe(filtered);
  });

  it('a range exchange finds the same deltas, asking the later rounds with narrowed scopes', async () => {
    const blue = new Recording({ treeSize: 'small' });
    const pink = new Recording({ treeSize: 'small' });
    for (let i = 0; i < 3000; i++) {
      const c = makeClock([['src', 1]], i);
      blue.put('b', `k${i}`, c);
      pink.put('b', `k${i}`, c);
      blue.put('other', `k${i}`, c);
    }
    for (const i of [7, 1500, 2999]) pink.put('b', `k${i}`, makeClock([['src', 2]], 9));
    const scope: ExchangeScope = { kind: 'range', treeSize: 'small', bucket: 'b' };
    const r = await runExchange([blue], [pink], { scope, pauseMs: 0, jitter: false });
    expect(r.deltas.map((d) => Buffer.from(d.key).toString()).sort()).toEqual(['k1500', 'k2999', 'k7']);
    // The top round reads the whole range; the rounds below it ask for a few segments only.
    expect(blue.scopes[0]!.kind === 'range' && blue.scopes[0]!.segments).toBeUndefined();
    const later = blue.scopes.slice(1);
    expect(later.length).toBeGreaterThan(0);
    for (const s of later) expect(s.kind === 'range' && s.segments!.ids.length).toBeLessThanOrEqual(NARROW_SEGMENTS);
  });

  it('a full exchange is never narrowed', async () => {
    const blue = new Recording({ treeSize: 'small' });
    const pink = new Recording({ treeSize: 'small' });
    blue.put('b', 'x', makeClock([['a', 1]], 1));
    await runExchange([blue], [pink], { pauseMs: 0, jitter: false });
    expect(blue.scopes.every((s) => s.kind === 'full')).toBe(true);
  });
});
