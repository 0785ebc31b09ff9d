import fc from 'fast-check';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { defaultSpec, increment } from '../../src/cluster/index.js';
import { NodeDb } from '../../src/store/index.js';
import { EmbeddedCluster, type PutItem } from '../../src/coordinator/index.js';
import { KeyFilter } from '../../src/store/key-filter.js';
import { KIND_FILTER, kindPrefix, prefixEnd } from '../../src/store/layout.js';
import { expectTreesMatchData, tempDir } from './helpers.js';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const key = fc.tuple(u32, u32);

describe('KeyFilter', () => {
  test('law: every key added is "maybe", however many keys (layers) the filter holds', () => {
    fc.assert(
      fc.property(fc.array(key, { maxLength: 300 }), fc.integer({ min: 0, max: 40_000 }), (keys, extra) => {
        const f = KeyFilter.create();
        for (let i = 0; i < extra; i++) f.add(Math.imul(i, 0x9e3779b1) >>> 0, Math.imul(i, 0x85ebca6b) >>> 0); // grows past the first layer
        for (const [s, a] of keys) f.add(s, a);
        return keys.every(([s, a]) => f.mayContain(s, a));
      }),
      { numRuns: 15 },
    );
  });

  test('an empty filter says no to everything; addIfAbsent says whether the key was certainly new', () => {
    const f = KeyFilter.create();
    expect(f.mayContain(1, 2)).toBe(false);
    expect(f.addIfAbsent(1, 2)).toBe(true);
    expect(f.addIfAbsent(1, 2)).toBe(false);
    expect(f.mayContain(1, 2)).toBe(true);
    expect(f.count).toBe(1);
  });

  test('false positives stay rare as it grows: under 5% of absent keys after 100k keys', () => {
    const f = KeyFilter.create();
    const rnd = (i: number, salt: number): number => Math.imul(i ^ salt, 0x9e3779b1) ^ Math.imul(i + salt, 0x85ebca6b);
    for (let i = 0; i < 100_000; i++) f.add(rnd(i, 1) >>> 0, rnd(i, 2) >>> 0);
    let fp = 0;
    for (let i = 0; i < 20_000; i++) if (f.mayContain(rnd(i, 3) >>> 0, rnd(i, 4) >>> 0)) fp++;
    expect(fp / 20_000).toBeLessThan(0.05);
    expect(f.byteLength).toBeLessThan(100_000 * 4); // ~10–20 bits a key, not a copy of the keys
  });

  test('export/import round trip keeps every answer; damaged records are refused with a reason', () => {
    const f = KeyFilter.create();
    for (let i = 0; i < 20_000; i++) f.add(i * 7919, i * 104729);
    const bytes = f.export();
    const r = KeyFilter.import(bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.filter.count).toBe(f.count);
    expect(r.filter.export()).toEqual(bytes);
    for (let i = 0; i < 30_000; i += 7) expect(r.filter.mayContain(i * 7919, i * 104729)).toBe(f.mayContain(i * 7919, i * 104729));
    const flipped = bytes.slice();
    flipped[bytes.length - 3]! ^= 0x10;
    expect(KeyFilter.import(flipped)).toMatchObject({ ok: false, reason: expect.stringMatching(/checksum/) });
    expect(KeyFilter.import(bytes.subarray(0, 20))).toMatchObject({ ok: false });
    const version = bytes.slice();
    version[4] = 9;
    expect(KeyFilter.import(version)).toMatchObject({ ok: false, reason: expect.stringMatching(/version/) });
  });
});

describe('key filters in the store', () => {
  const spec = defaultSpec('kf', { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' });
  let dir: { path: string; dispose: () => Promise<void> };
  const open: EmbeddedCluster[] = [];
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const c of open.splice(0)) await c.close().catch(() => undefined);
    await dir.dispose();
  });
  const path = (): string => join(dir.path, 'c');
  const items = (n: number, tag: string, clocked: boolean): PutItem[] =>
    Array.from({ length: n }, (_, i) => ({
      bucket: 'b',
      key: `k${i}`,
      value: `${tag}${i}`,
      ...(clocked ? { clock: increment(null, tag, 1000 + i) } : { lastModified: 1000 + i }),
    }));
  const treesMatch = (c: EmbeddedCluster): Promise<number> => expectTreesMatchData(c.vnodes(), c.spec, (a, b, msg) => expect(a, msg).toEqual(b));
  const spyReads = (c: EmbeddedCluster): (() => number) => {
    const spies = c.spec.nodes.map((n) => vi.spyOn(c.nodeDb(n), 'getMany'));
    return () => spies.reduce((s, x) => s + x.mock.calls.reduce((t, call) => t + (call[0] as unknown[]).length, 0), 0);
  };

  test('writes of new keys into a new store read no heads (clocked and clockless); overwrites read them', async () => {
    const c = await EmbeddedCluster.create(path(), spec);
    open.push(c);
    const reads = spyReads(c);
    await c.putMany(items(200, 'a', true));
    await c.putMany(items(200, 'x', false).map((it) => ({ ...it, key: `new${String(it.key)}` })));
    expect(reads()).toBe(0);
    await c.putMany(items(200, 'b', true)); // the same keys again: their old heads must be read
    expect(reads()).toBeGreaterThanOrEqual(200 * 3);
    await treesMatch(c);
  });

  test('overwrites after a clean reopen (filters restored) and after a crash (filters rebuilt or absent) keep trees exact', async () => {
    const c = await EmbeddedCluster.create(path(), spec);
    await c.putMany(items(150, 'a', false));
    await c.close();
    const d = await EmbeddedCluster.open(path());
    open.push(d);
    const savedFilters = async (): Promise<number> => {
      let n = 0;
      for (const node of d.spec.nodes) {
        for (const v of d.vnodes().filter((x) => x.node === node)) {
          const p = kindPrefix(v.id, KIND_FILTER);
          n += (await d.nodeDb(node).raw.keys({ gte: p, lt: prefixEnd(p) }).all()).length;
        }
      }
      return n;
    };
    expect(await savedFilters()).toBeGreaterThan(0); // read when first needed
    const reads = spyReads(d);
    await d.putMany(items(150, 'b', false)); // clockless: clocks must descend from the stored ones
    expect(reads()).toBeGreaterThanOrEqual(150 * 3);
    expect(await savedFilters()).toBe(0); // the first write read them and deleted them
    expect((await d.get('b', 'k3'))!.clock.entries).toEqual([['kf', 2]]);
    await treesMatch(d);
    await d.close({ saveTrees: false }); // a crash: no filters saved
    open.pop();
    const e = await EmbeddedCluster.open(path());
    open.push(e);
    await e.putMany(items(150, 'c', true)); // before any rebuild: no filter, every key read
    await treesMatch(e); // rebuilds the trees (and filters) from the heads
    await e.putMany(items(150, 'd', true)); // after the rebuild: rebuilt filters
    await e.putMany(items(30, 'e', false).map((it) => ({ ...it, key: `fresh${String(it.key)}` })));
    await treesMatch(e);
    expect((await e.get('b', 'k3'))!.clock.entries).toEqual([['d', 1]]);
  });

  test('a damaged saved filter is not used: that keyspace reads every key, and its tree stays exact', async () => {
    const c = await EmbeddedCluster.create(path(), spec);
    await c.putMany(items(120, 'a', true));
    const victim = c.vnode(3);
    const keyspace = victim.indexNs[0]!.keyspace;
    await c.close();
    const db = await NodeDb.open(victim.node, join(path(), victim.node), { createIfMissing: false });
    try {
      const k = Uint8Array.of(...kindPrefix(3, KIND_FILTER), keyspace >>> 8, keyspace & 0xff);
      const saved = await db.get(k);
      expect(saved).toBeDefined();
      // An all-zero filter with a valid checksum would claim every key absent: refuse by checksum.
      const zeroed = saved!.slice();
      zeroed.fill(0, 10);
      await db.batch([{ type: 'put', key: k, value: zeroed }]);
    } finally {
      await db.close();
    }
    const d = await EmbeddedCluster.open(path());
    open.push(d);
    await d.putMany(items(120, 'b', true));
    await treesMatch(d);
  });
});
