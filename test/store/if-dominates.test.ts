import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { defaultSpec, makeClock, type AaeObject } from '../../src/cluster/index.js';
import { canonicalKey, contribution, keyHash, objectHash } from '../../src/hash/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { TicTacTree } from '../../src/tictac/index.js';

let dir: string;
let c: EmbeddedCluster;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-ifdom-'));
  c = await EmbeddedCluster.create(join(dir, 'c'), defaultSpec('c', { ringSize: 8, nVal: 2, nodeCount: 2, treeSize: 'xsmall' }));
});
afterEach(async () => {
  await c.close();
  await rm(dir, { recursive: true, force: true });
});

const obj = (value: string, entries: Array<[string, number]>): AaeObject => ({
  bucket: 'b',
  key: new TextEncoder().encode('k'),
  clock: makeClock(entries, 1),
  value: new TextEncoder().encode(value),
  deleted: false,
  indexes: [],
});

test('writeIfDominates writes over older versions and missing keys, never over equal, newer or concurrent ones', async () => {
  expect(await c.writeIfDominates([{ object: obj('v1', [['a', 1]]) }])).toEqual([['written', 'written']]);
  expect(await c.writeIfDominates([{ object: obj('v1', [['a', 1]]) }])).toEqual([['skipped', 'skipped']]);
  expect(await c.writeIfDominates([{ object: obj('v2', [['a', 2]]) }])).toEqual([['written', 'written']]);
  expect(await c.writeIfDominates([{ object: obj('old', [['a', 1]]) }])).toEqual([['skipped', 'skipped']]);
  expect(await c.writeIfDominates([{ object: obj('other', [['b', 1]]) }])).toEqual([['skipped', 'skipped']]);
  const [first, second] = (await c.getReplicas('b', 'k')).map((r) => r.vnode);
  // One replica only, and that replica decides for itself.
  expect(await c.writeIfDominates([{ object: obj('v3', [['a', 3]]), vnodes: [second!] }])).toEqual([['written']]);
  const values = (await c.getReplicas('b', 'k')).map((r) => Buffer.from(r.object!.value).toString());
  expect(values).toEqual(['v2', 'v3']);
  expect(first).not.toBe(second);

  // The trees followed every write that landed and none that was skipped.
  for (const r of await c.getReplicas('b', 'k')) {
    const v = c.vnode(r.vnode);
    const expected = TicTacTree.create('xsmall');
    const { segment32, alt } = keyHash(canonicalKey('b', new TextEncoder().encode('k')), 0);
    expected.add(segment32, contribution(alt, objectHash('clock', 0, r.object!.clock.entries, r.object!.value, r.object!.deleted)));
    let root = new Uint32Array(expected.branchCount);
    for (const ix of v.indexNs) {
      const part = await v.fetchRoot(ix);
      root = root.map((w, i) => w ^ part[i]!);
    }
    expect([...root]).toEqual([...expected.root()]);
  }
});

test('writeIfHeld writes only while a vnode holds exactly the version named: a compare-and-set, clocks or none', async () => {
  const key = obj('v1', [['a', 1]]);
  const [first, second] = c.preflistOf('b', key.key);
  // Nothing held: lands where the vnode holds nothing.
  expect(await c.writeIfHeld([{ object: key, targets: [{ vnode: first!, held: null }] }])).toEqual([['written']]);
  const { heads } = await c.nodeOf(first!).readHeads({ vnode: first!, keys: [{ bucket: key.bucket, key: key.key }] });
  const held = { hash: heads[0]!.hash, deleted: heads[0]!.deleted };
  // Named wrongly (nothing, a tombstone of the same hash, another hash): skipped, whatever the clocks.
  expect(await c.writeIfHeld([{ object: obj('v9', [['a', 9]]), targets: [{ vnode: first!, held: null }] }])).toEqual([['skipped']]);
  expect(await c.writeIfHeld([{ object: obj('v9', [['a', 9]]), targets: [{ vnode: first!, held: { ...held, deleted: true } }] }])).toEqual([['skipped']]);
  expect(await c.writeIfHeld([{ object: obj('v9', [['a', 9]]), targets: [{ vnode: first!, held: { ...held, hash: (held.hash + 1) >>> 0 } }] }])).toEqual([['skipped']]);
  // Named rightly: lands, even with a clock that does not dominate (data without clocks has none).
  expect(await c.writeIfHeld([{ object: obj('older', [['z', 1]]), targets: [{ vnode: first!, held }, { vnode: second!, held: null }] }])).toEqual([['written', 'written']]);
  const reps = await c.getReplicas('b', key.key);
  expect(reps.slice(0, 2).map((r) => Buffer.from(r.object!.value).toString())).toEqual(['older', 'older']);
});
