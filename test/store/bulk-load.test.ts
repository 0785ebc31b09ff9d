import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, expect, test } from 'vitest';
import { defaultSpec, makeClock } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { initHash } from '../../src/hash/index.js';
import { BulkHeadLoad, type VnodeWrite } from '../../src/store/index.js';
import { kindPrefix, prefixEnd, KIND_HEAD } from '../../src/store/layout.js';
import { enc, useFileTempDir } from './helpers.js';

/**
 * The bulk load of valueless heads into a fresh store (a keystore's build). Law: whatever the
 * rows (repeated keys included) and however they split into runs, the store ends with exactly the
 * head records the vnode write path leaves for the same rows written in order, and the trees it
 * saved are restored on open and equal the vnode path's trees and a rebuild from the heads.
 */

const spec = defaultSpec('bulk', { ringSize: 8, nVal: 1, nodes: ['n1'], treeSize: 'xsmall', hashMethod: 'value' });
const dir = useFileTempDir('aae-bulk-load-');
let run = 0;

beforeAll(async () => {
  await initHash();
});

interface Row {
  key: number;
  hash: number;
  size: number;
  time: number;
}

const rowArb: fc.Arbitrary<Row> = fc.record({ key: fc.nat(60), hash: fc.nat({ max: 0xffff_ffff }), size: fc.nat(500), time: fc.nat(1_000_000) });
const keyOf = (k: number): Uint8Array => enc(`key-${k}`);
const clockOf = (r: Row) => makeClock([['@actor', r.time + 1]], r.time);

async function headRecords(path: string): Promise<Array<[string, string]>> {
  const c = await EmbeddedCluster.open(path);
  try {
    const db = c.nodeDb('n1');
    const out: Array<[string, string]> = [];
    for (let v = 0; v < spec.ringSize; v++) {
      const p = kindPrefix(v, KIND_HEAD);
      const it = db.iterator({ gte: p, lt: prefixEnd(p) });
      try {
        for (;;) {
          const batch = await it.nextv(1000);
          if (batch.length === 0) break;
          for (const [k, val] of batch) out.push([Buffer.from(k).toString('hex'), Buffer.from(val).toString('hex')]);
        }
      } finally {
        await it.close();
      }
    }
    return out;
  } finally {
    await c.close();
  }
}

async function trees(path: string): Promise<{ cached: string[]; rebuilt: string[]; origins: string[] }> {
  const c = await EmbeddedCluster.open(path);
  try {
    const cached: string[] = [];
    const rebuilt: string[] = [];
    const origins: string[] = [];
    for (const v of c.vnodes()) {
      for (const ix of v.indexNs) {
        cached.push(Buffer.from((await v.fetchTree(ix)).export()).toString('hex'));
        rebuilt.push(Buffer.from((await v.treeFromHeads(ix.keyspace)).export()).toString('hex'));
      }
      origins.push(...v.treeStates().map((t) => t.origin));
    }
    return { cached, rebuilt, origins };
  } finally {
    await c.close();
  }
}

async function bulk(path: string, rows: readonly Row[], maxRunBytes: number): Promise<number> {
  const made = await EmbeddedCluster.create(path, spec);
  await made.close();
  const load = await BulkHeadLoad.open(join(path, 'n1'), 'n1', spec, [...Array(spec.ringSize).keys()], { maxRunBytes });
  for (const r of rows) {
    load.add('b', keyOf(r.key), { hash: r.hash, size: r.size, clock: clockOf(r) });
    if (load.runFull) await load.flush();
  }
  await load.finish();
  return load.loaded;
}

async function byVnodes(path: string, rows: readonly Row[]): Promise<void> {
  const c = await EmbeddedCluster.create(path, spec);
  try {
    for (const r of rows) {
      const w: VnodeWrite = { kind: 'head', bucket: 'b', key: keyOf(r.key), clock: clockOf(r), hash: r.hash, size: r.size, deleted: false };
      await c.vnode(c.preflistOf('b', w.key)[0]!).write([w]);
    }
  } finally {
    await c.close();
  }
}

test('law: a bulk load leaves the heads and trees the vnode write path leaves, in one run or many', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(rowArb, { maxLength: 120 }), fc.constantFrom(256, 4096, 1 << 28), async (rows, maxRunBytes) => {
      const a = join(dir.path, `bulk${run}`);
      const b = join(dir.path, `ref${run++}`);
      const loaded = await bulk(a, rows, maxRunBytes);
      await byVnodes(b, rows);
      expect(loaded).toBe(new Set(rows.map((r) => r.key)).size);
      expect(await headRecords(a)).toEqual(await headRecords(b));
      const ta = await trees(a);
      const tb = await trees(b);
      expect(ta.origins.every((o) => o === 'restored')).toBe(true);
      expect(ta.cached).toEqual(tb.cached);
      expect(ta.cached).toEqual(ta.rebuilt);
    }),
    { numRuns: 12 },
  );
});

test('a bulk load refuses a store that holds heads, and needs nVal 1', async () => {
  const path = join(dir.path, `full${run++}`);
  const c = await EmbeddedCluster.create(path, spec);
  const k = keyOf(1);
  await c.vnode(c.preflistOf('b', k)[0]!).write([{ kind: 'head', bucket: 'b', key: k, clock: makeClock([['x', 1]], 1), hash: 1, size: 1, deleted: false }]);
  await c.close();
  await expect(BulkHeadLoad.open(join(path, 'n1'), 'n1', spec, [...Array(8).keys()])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(BulkHeadLoad.open(join(path, 'n1'), 'n1', { ...spec, nVal: 3 }, [0])).rejects.toThrow(TypeError);
  // The refusal left the store usable.
  const again = await EmbeddedCluster.open(path);
  expect(await again.vnode(again.preflistOf('b', k)[0]!).getHead('b', k)).not.toBeNull();
  await again.close();
});
