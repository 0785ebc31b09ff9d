import { describe, expect, test } from 'vitest';
import { compareClusters, compareReplicas, repairClusters } from '../../src/aae/index.js';
import { makeClock } from '../../src/cluster/index.js';
import { canonicalKey, keyHash, utf8, type HashMethod } from '../../src/hash/index.js';
import { MemoryConflictSink } from '../../src/repair/index.js';
import { segmentCountOf } from '../../src/tictac/index.js';
import { fast, text, useClusters } from './clusters.js';

/**
 * A delete that reuses the clock of the value it deletes (read b/k, then delete it with the clock
 * read) was invisible: the object hash covered the clock only, so the tombstone hashed like the
 * value and compare said in sync, while one side served the value and the other held the
 * tombstone. Once an unrelated key landed in the same segment, the clock stage saw the pair (equal
 * clocks, one deleted) and repair brought the value back. Whether a delete is seen must not depend
 * on an unrelated key: under hash format 2 a tombstone hashes apart from a live version, for both
 * hash methods (under `value`, a tombstone also differs from an empty live value).
 */
const cluster = useClusters('aae-tomb-');
const TREE = 'xxsmall';

/** A key of bucket b in the same segment (of an xxsmall tree) as b/k: an unrelated neighbour. */
function neighbourOf(key: string, seed: number): string {
  const mask = segmentCountOf(TREE) - 1;
  const target = keyHash(canonicalKey('b', utf8(key)), seed).segment32 & mask;
  for (let i = 0; ; i++) {
    const candidate = `neighbour-${i}`;
    if ((keyHash(canonicalKey('b', utf8(candidate)), seed).segment32 & mask) === target) return candidate;
  }
}

describe.each(['clock', 'value'] as const)('hash method %s: a delete that reuses the value’s clock', (hashMethod: HashMethod) => {
  const pair = async (tag = '') => {
    const a = await cluster(`a${tag}`, 8, 1, 1, { hashMethod, treeSize: TREE });
    const b = await cluster(`b${tag}`, 8, 1, 1, { hashMethod, treeSize: TREE });
    // Under `value`, the value is empty: a tombstone must still differ from it.
    const value = hashMethod === 'value' ? '' : 'v';
    for (const c of [a, b]) await c.put({ bucket: 'b', key: 'k', value, clock: makeClock([['src', 1]], 1000) });
    const read = (await b.get('b', 'k'))!;
    await b.delete('b', 'k', { clock: read.clock });
    return { a, b };
  };

  // The campaign saw the pair only once an unrelated difference dirtied the segment (a key written
  // to one side): the clock stage then read it. It must be seen without one, and with one too.
  test.each([false, true])('compare reports it, whether or not an unrelated difference shares its segment (neighbour: %s)', async (neighbour) => {
    const { a, b } = await pair();
    const n = neighbourOf('k', 0);
    if (neighbour) await a.put({ bucket: 'b', key: n, value: 'unrelated', clock: makeClock([['src', 1]], 1000) });
    const r = await compareClusters(a, b, fast);
    expect(r.inSync).toBe(false);
    const k = r.differences.filter((d) => text(d.key) === 'k');
    expect(k.map((d) => [d.source?.deleted, d.sink?.deleted])).toEqual([[false, true]]);
    expect(r.differences.map((d) => text(d.key))).toEqual(neighbour ? ['k', n] : ['k']);
  });

  test('repair settles it the same way with or without an unrelated difference beside it: the tombstone wins the tie, the value is logged', async () => {
    for (const neighbour of [false, true]) {
      const { a, b } = await pair(neighbour ? '-n' : '');
      if (neighbour) await a.put({ bucket: 'b', key: neighbourOf('k', 0), value: 'unrelated', clock: makeClock([['src', 1]], 1000) });
      const log = new MemoryConflictSink();
      const r = await repairClusters(a, b, { ...fast, policy: 'lww', conflictLog: log });
      expect(r.inSync).toBe(true);
      for (const c of [a, b]) expect((await c.get('b', 'k'))?.deleted).toBe(true);
      expect(log.entries.map((e) => [text(e.loser.key), e.loser.deleted])).toEqual([['k', false]]);
      expect((await compareClusters(a, b, fast)).inSync).toBe(true);
    }
  });
});

describe('inside one cluster', () => {
  test('a replica holding the tombstone of the value another holds, with the same clock, is a difference', async () => {
    const c = await cluster('c', 8, 2, 2, { treeSize: TREE });
    await c.put({ bucket: 'b', key: 'k', value: 'v', clock: makeClock([['src', 1]], 1000) });
    await c.delete('b', 'k', { clock: makeClock([['src', 1]], 1000), replicas: 1 });
    const r = await compareReplicas(c, fast);
    expect(r.inSync).toBe(false);
    expect(r.differences.map((d) => text(d.key))).toEqual(['k']);
  });
});
