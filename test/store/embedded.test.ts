import { spawn, type ChildProcess } from 'node:child_process';
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { defaultSpec, type ClusterSpec } from '../../src/cluster/index.js';
import { isAaeError, type AaeError } from '../../src/errors.js';
import { NodeDb } from '../../src/store/index.js';
import { EmbeddedCluster, type PutItem } from '../../src/coordinator/index.js';
import { KIND_TREE, KIND_VALUE, kindPrefix, prefixEnd } from '../../src/store/layout.js';
import { collect, expectTreesMatchData, tempDir } from './helpers.js';

/** What the embedded cluster adds to the store contract: the directory, locks, tree persistence. */

const SPEC = (name = 'emb'): ClusterSpec => defaultSpec(name, { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' });

let dir: { path: string; dispose: () => Promise<void> };
const open: EmbeddedCluster[] = [];
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => undefined);
  await dir.dispose();
});

async function create(path = join(dir.path, 'c')): Promise<EmbeddedCluster> {
  const c = await EmbeddedCluster.create(path, SPEC());
  open.push(c);
  return c;
}
async function reopen(path = join(dir.path, 'c')): Promise<EmbeddedCluster> {
  const c = await EmbeddedCluster.open(path);
  open.push(c);
  return c;
}

async function fill(c: EmbeddedCluster, n: number, tag = 'v'): Promise<void> {
  const items: PutItem[] = Array.from({ length: n }, (_, i) => ({ bucket: `b${i % 2}`, key: `k${i}`, value: `${tag}${i}`, indexes: [['i', String(i % 5)]] }));
  await c.putMany(items);
  for (let i = 0; i < n; i += 7) await c.delete(`b${i % 2}`, `k${i}`);
}

/** Every IndexN root of every vnode, as plain arrays. */
async function roots(c: EmbeddedCluster): Promise<number[][]> {
  const out: number[][] = [];
  for (const v of c.vnodes()) for (const n of v.indexNs) out.push(Array.from(await v.fetchRoot(n)));
  return out;
}

function origins(c: EmbeddedCluster): string[] {
  return c.vnodes().flatMap((v) => v.treeStates().map((s) => s.origin));
}

/** Makes every vnode read its saved trees now (they are read when first needed), then returns the origins. */
async function loadedOrigins(c: EmbeddedCluster): Promise<string[]> {
  for (const v of c.vnodes()) await v.loadTrees();
  return origins(c);
}

/** The saved tree records of every vnode. */
async function savedTrees(c: EmbeddedCluster): Promise<number> {
  let n = 0;
  for (const node of c.spec.nodes) {
    for (const v of c.vnodes().filter((x) => x.node === node)) {
      const p = kindPrefix(v.id, KIND_TREE);
      n += (await c.nodeDb(node).raw.keys({ gte: p, lt: prefixEnd(p) }).all()).length;
    }
  }
  return n;
}

async function treesMatch(c: EmbeddedCluster): Promise<void> {
  await expectTreesMatchData(c.vnodes(), c.spec, (a, b, msg) => expect(a, msg).toEqual(b));
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (isAaeError(e) ? e.code : String(e)),
  );
}

describe('the cluster directory', () => {
  test('create writes cluster.json and one LevelDB folder per node; open reads them back', async () => {
    const c = await create();
    expect(c.owners).toHaveLength(8);
    expect(new Set(c.owners)).toEqual(new Set(['n1', 'n2', 'n3']));
    await c.put({ bucket: 'b', key: 'k', value: 'v' });
    await c.close();
    const d = await reopen();
    expect(d.spec).toEqual(SPEC());
    expect(d.owners).toEqual(c.owners);
    expect((await d.get('b', 'k'))?.value).toEqual(new TextEncoder().encode('v'));
  });

  test('create over a cluster is CLUSTER_EXISTS; open of a directory without one is CLUSTER_NOT_FOUND', async () => {
    const c = await create();
    await c.close();
    expect(await code(EmbeddedCluster.create(join(dir.path, 'c'), SPEC()))).toBe('CLUSTER_EXISTS');
    expect(await code(EmbeddedCluster.open(join(dir.path, 'nothing')))).toBe('CLUSTER_NOT_FOUND');
  });

  test("create in a node's store folder is CLUSTER_EXISTS, naming the cluster around it, and writes nothing there", async () => {
    const c = await create();
    await c.close();
    const node = join(dir.path, 'c', SPEC().nodes[0]!);
    const before = (await readdir(node)).sort();
    const e = await EmbeddedCluster.create(node, SPEC()).then(
      () => null,
      (x: unknown) => x as AaeError,
    );
    expect(e?.code).toBe('CLUSTER_EXISTS');
    expect(e?.message).toContain(`${node} holds a LevelDB store (a node of the cluster at ${join(dir.path, 'c')})`);
    expect((await readdir(node)).sort()).toEqual(before);
    // A new folder beside the nodes is another matter (a keystore builds its next store so).
    const beside = await EmbeddedCluster.create(join(dir.path, 'c', 'rebuild'), SPEC());
    await beside.close();
  });

  test('a cluster open in this process is STORE_LOCKED to a second open', async () => {
    await create();
    expect(await code(EmbeddedCluster.open(join(dir.path, 'c')))).toBe('STORE_LOCKED');
  });

  test('a node LevelDB held by another process is STORE_LOCKED', async () => {
    const c = await create();
    await c.close();
    // a child process that opens node n2's LevelDB and holds it until killed
    const child: ChildProcess = spawn(
      process.execPath,
      ['--input-type=module', '-e', `import { Level } from 'level'; const db = new Level(${JSON.stringify(join(dir.path, 'c', 'n2'))}); await db.open(); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`],
      { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      expect(await code(EmbeddedCluster.open(join(dir.path, 'c')))).toBe('STORE_LOCKED');
    } finally {
      child.kill();
      await new Promise((r) => child.once('exit', r));
    }
    // once released, the cluster opens again (the failed open released the nodes it had opened)
    await reopen();
  });
});

describe('tree persistence', () => {
  test('a new cluster keeps its trees current from the first write, without a rebuild', async () => {
    const c = await create();
    await fill(c, 60);
    await treesMatch(c);
    // A cluster is built beside its directory and renamed into place (create-cluster.ts), then
    // opened there: its empty trees come back from that first clean close, never from a rebuild.
    expect(new Set(origins(c))).toEqual(new Set(['restored']));
  });

  test('a clean close saves the trees; the next open reads them when first needed, restores them and deletes them from the store', async () => {
    const c = await create();
    await fill(c, 60);
    const before = await roots(c);
    await c.close();
    const d = await reopen();
    expect(new Set(origins(d))).toEqual(new Set(['unread']));
    expect(await savedTrees(d)).toBe(8 * 3);
    expect(new Set(await loadedOrigins(d))).toEqual(new Set(['restored']));
    expect(await savedTrees(d)).toBe(0);
    expect(await roots(d)).toEqual(before);
    await fill(d, 30, 'again');
    await treesMatch(d);
  });

  test('after a close without saving (a crash), every tree is rebuilt from the heads before it answers', async () => {
    const c = await create();
    await fill(c, 60);
    const before = await roots(c);
    await c.close({ saveTrees: false });
    const d = await reopen();
    expect(new Set(await loadedOrigins(d))).toEqual(new Set(['missing']));
    expect(d.vnode(0).treeStates()[0]!.reason).toMatch(/no saved tree/);
    expect(await roots(d)).toEqual(before);
    expect(new Set(origins(d))).toEqual(new Set(['rebuilt']));
    await treesMatch(d);
  });

  test('a crash: a copy of a directory that was never closed rebuilds, and gets the same trees', async () => {
    const c = await create();
    await fill(c, 60);
    const copy = join(dir.path, 'copy');
    await cp(join(dir.path, 'c'), copy, { recursive: true });
    const d = await reopen(copy);
    expect(new Set(await loadedOrigins(d))).toEqual(new Set(['missing']));
    expect(await roots(d)).toEqual(await roots(c));
    await treesMatch(d);
  });

  test('a stale tree is never revived: the first write deletes the saved trees, so a later crash rebuilds', async () => {
    const c = await create();
    await fill(c, 40);
    await c.close(); // trees saved
    const d = await reopen();
    await fill(d, 40, 'newer'); // the first write restores the trees and deletes them from the store; then they move on
    expect(await savedTrees(d)).toBe(0);
    const copy = join(dir.path, 'copy');
    await cp(join(dir.path, 'c'), copy, { recursive: true }); // crash: d is never closed
    const e = await reopen(copy);
    expect(new Set(await loadedOrigins(e))).toEqual(new Set(['missing']));
    expect(await roots(e)).toEqual(await roots(d));
    await treesMatch(e);
  });

  test('the first write deletes the saved trees whatever reads it makes: a clocked load, then a crash, rebuilds', async () => {
    const c = await create();
    await fill(c, 40);
    await c.close();
    const d = await reopen();
    // Clocked writes read no clocks, so nothing else makes the vnodes load their trees first.
    await d.putMany(Array.from({ length: 40 }, (_, i) => ({ bucket: 'z', key: `z${i}`, value: 'v', clock: { entries: [['w', 1]], lastModified: 1 } })));
    expect(await savedTrees(d)).toBe(0);
    const copy = join(dir.path, 'copy');
    await cp(join(dir.path, 'c'), copy, { recursive: true }); // crash
    const e = await reopen(copy);
    expect(new Set(await loadedOrigins(e))).toEqual(new Set(['missing']));
    expect(await roots(e)).toEqual(await roots(d));
    await treesMatch(e);
  });

  test('a session that only reads objects loads no tree and leaves the saved ones valid: a crash after it restores them', async () => {
    const c = await create();
    await fill(c, 60);
    const before = await roots(c);
    await c.close();
    const d = await reopen();
    for (let i = 0; i < 60; i += 5) expect(await d.get(`b${i % 2}`, `k${i}`)).not.toBeNull();
    expect(new Set(origins(d))).toEqual(new Set(['unread']));
    const copy = join(dir.path, 'copy');
    await cp(join(dir.path, 'c'), copy, { recursive: true }); // crash: d is never closed
    const e = await reopen(copy);
    expect(new Set(await loadedOrigins(e))).toEqual(new Set(['restored']));
    expect(await roots(e)).toEqual(before);
    await treesMatch(e);
    await d.close(); // never loaded: the saved trees stay as they were
    const f = await reopen();
    expect(new Set(await loadedOrigins(f))).toEqual(new Set(['restored']));
    expect(await roots(f)).toEqual(before);
  });

  test('a close without saving of a vnode that never loaded its trees still makes the next open rebuild', async () => {
    const c = await create();
    await fill(c, 30);
    await c.close();
    const d = await reopen();
    await d.close({ saveTrees: false });
    open.splice(open.indexOf(d), 1);
    const e = await reopen();
    expect(new Set(await loadedOrigins(e))).toEqual(new Set(['missing']));
    await treesMatch(e);
  });

  for (const [what, damage] of [
    ['a truncated saved tree', (b: Uint8Array) => b.subarray(0, Math.floor(b.length / 2))],
    ['a saved tree with a bad checksum', (b: Uint8Array) => { const x = b.slice(); x[x.length - 1]! ^= 0x5a; return x; }],
    ['a saved tree of another format version', (b: Uint8Array) => { const x = b.slice(); x[4] = 9; return x; }],
  ] as const) {
    test(`${what} is not restored: that keyspace is rebuilt, the others restored`, async () => {
      const c = await create();
      await fill(c, 60);
      const before = await roots(c);
      const victim = c.vnode(2);
      const keyspace = victim.indexNs[1]!.keyspace;
      await c.close();
      const db = await NodeDb.open(victim.node, join(dir.path, 'c', victim.node), { createIfMissing: false });
      try {
        const key = Uint8Array.of(...kindPrefix(2, KIND_TREE), keyspace >>> 8, keyspace & 0xff);
        const saved = await db.get(key);
        expect(saved).toBeDefined();
        await db.batch([{ type: 'put', key, value: damage(saved!) }]);
      } finally {
        await db.close();
      }
      const d = await reopen();
      await loadedOrigins(d);
      const states = d.vnode(2).treeStates();
      expect(states.find((s) => s.keyspace === keyspace)).toMatchObject({ origin: 'missing' });
      expect(states.find((s) => s.keyspace === keyspace)!.reason).toBeTruthy();
      expect(origins(d).filter((o) => o === 'missing')).toHaveLength(1);
      expect(await roots(d)).toEqual(before);
      expect(d.vnode(2).treeStates().find((s) => s.keyspace === keyspace)!.origin).toBe('rebuilt');
      await treesMatch(d);
    });
  }
});

test('a head fold reads no values: with every value record gone it still yields every head', async () => {
  const c = await create();
  await fill(c, 50);
  const v = c.vnode(4);
  const heads = await collect(v.foldHeads({}));
  expect(heads.length).toBeGreaterThan(0);
  const p = kindPrefix(4, KIND_VALUE);
  await c.nodeDb(v.node).raw.clear({ gte: p, lt: prefixEnd(p) });
  expect(await collect(v.foldHeads({}))).toEqual(heads);
  expect(await code(collect(v.foldObjects({})))).toBe('STORE_IO');
});
