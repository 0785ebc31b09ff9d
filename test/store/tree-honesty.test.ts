import { open as openFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { compareReplicas, repairReplicas } from '../../src/aae/index.js';
import { defaultSpec, keyIdentity } from '../../src/cluster/index.js';
import { KIND_HEAD, kindPrefix, prefixEnd } from '../../src/store/layout.js';
import { rebuildDueTrees, dueVnodes, verifyTrees } from '../../src/store/index.js';
import { EmbeddedCluster, type PutItem } from '../../src/coordinator/index.js';
import { expectTreesMatchData, plantBehindTrees, tempDir } from './helpers.js';

/**
 * Trees that never lie. A fault campaign corrupted 8 bytes in the middle of one node's LevelDB log
 * (a 3-node, nVal 2 cluster of 3,000 keys): LevelDB dropped the damaged records when it recovered,
 * the saved trees were restored unchanged, and compare and repair said in sync while ~780 keys had
 * lost a replica. Now (1) an open that recovered with less drops the node's saved trees, so they
 * are rebuilt from what remains and the exchange sees the loss; (2) verify rebuilds every vnode's
 * trees beside the cached ones and reports (and with fix replaces) those that differ, whatever
 * the damage; (3) due vnodes are rebuilt on a schedule, while writes go on.
 */
const fast = { pauseMs: 0, jitter: false } as const;

let dir: { path: string; dispose: () => Promise<void> };
const opened: EmbeddedCluster[] = [];
beforeEach(async () => {
  dir = await tempDir('aae-honest-');
});
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close().catch(() => undefined);
  await dir.dispose();
});

async function openAt(path: string): Promise<EmbeddedCluster> {
  const c = await EmbeddedCluster.open(path);
  opened.push(c);
  return c;
}

const items = (n: number, tag = 'v'): PutItem[] => Array.from({ length: n }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: `${tag}-${i}`.repeat(8) }));

/** Keys some replica of which is missing, as key identities. */
async function keysMissingAReplica(c: EmbeddedCluster, n: number): Promise<Set<string>> {
  const out = new Set<string>();
  const keys = Array.from({ length: n }, (_, i) => ({ bucket: 'b', key: new TextEncoder().encode(`k${i}`) }));
  const read = await c.readReplicas(keys);
  read.forEach((replicas, i) => {
    if (replicas.some((r) => r.object === null)) out.add(keyIdentity(keys[i]!));
  });
  return out;
}

describe('after LevelDB drops damaged log records at open', () => {
  test('the node’s saved trees are dropped: compare finds exactly the keys that lost a replica, repair heals them', async () => {
    const path = join(dir.path, 'c');
    const c = await EmbeddedCluster.create(path, defaultSpec('c', { nodeCount: 3, ringSize: 8, nVal: 2 }));
    await c.putMany(items(3000));
    await c.close();
    // 8 bytes in the middle of the first node's log, as the campaign did.
    const node = join(path, 'n1');
    const log = (await readdir(node)).find((f) => f.endsWith('.log'))!;
    const fh = await openFile(join(node, log), 'r+');
    await fh.write(Buffer.alloc(8, 0x55), 0, 8, Math.floor((await stat(join(node, log))).size * 0.3));
    await fh.close();

    const d = await openAt(path);
    expect(d.nodeDb('n1').recoveryLoss).toMatch(/dropped damaged records/);
    const lost = await keysMissingAReplica(d, 3000);
    expect(lost.size).toBeGreaterThan(0);
    for (const v of d.vnodes().filter((x) => x.node === 'n1')) {
      await v.loadTrees();
      for (const s of v.treeStates()) expect(s.origin).toBe('missing');
    }
    // maxResults wide enough to list every difference in one exchange (repair would loop instead).
    const r = await compareReplicas(d, { ...fast, maxResults: 65_536 });
    expect(new Set(r.differences.map((x) => keyIdentity(x)))).toEqual(lost);
    expect((await repairReplicas(d, { ...fast, policy: 'lww' })).inSync).toBe(true);
    expect((await keysMissingAReplica(d, 3000)).size).toBe(0);
    expect((await verifyTrees(d)).differed).toEqual([]);
  });
});

describe('the saved trees', () => {
  test('a saved tree that the heads contradict is caught by the spot check when read, and the whole vnode is rebuilt', async () => {
    const path = join(dir.path, 'c');
    const c = await EmbeddedCluster.create(path, defaultSpec('c', { nodeCount: 2, ringSize: 8, nVal: 2, treeSize: 'small' }));
    await c.putMany(items(800));
    await c.vnode(5).loadTrees();
    // Every head of one of vnode 5's keyspaces gone: any leaf sampled contradicts the tree.
    const keyspace = c.vnode(5).indexNs[0]!.keyspace;
    const db = c.nodeDb(c.vnode(5).node);
    const prefix = Uint8Array.of(0x76, 0, 5, 0x68, keyspace >>> 8, keyspace & 0xff);
    const keys = await db.raw.keys({ gte: prefix, lt: prefixEnd(prefix) }).all();
    expect(keys.length).toBeGreaterThan(0);
    await db.batch(keys.map((key) => ({ type: 'del' as const, key })));
    await c.close();

    const d = await openAt(path);
    await d.vnode(5).loadTrees();
    const states = d.vnode(5).treeStates();
    expect(states.map((s) => s.origin)).toEqual(['missing', 'missing']);
    expect(states.find((s) => s.keyspace === keyspace)!.reason).toMatch(/spot check/);
    for (const v of d.vnodes().filter((x) => x.id !== 5)) {
      await v.loadTrees();
      expect(v.treeStates().map((s) => s.origin)).toEqual(['restored', 'restored']);
    }
    const r = await compareReplicas(d, { ...fast, maxResults: 65_536 });
    expect(r.keys).toBe(keys.length);
  });
});

describe('verify', () => {
  test('reports the vnodes whose saved trees no longer match their heads; with fix, replaces them and compare then sees the loss', async () => {
    const path = join(dir.path, 'c');
    const c = await EmbeddedCluster.create(path, defaultSpec('c', { nodeCount: 2, ringSize: 8, nVal: 2, treeSize: 'small' }));
    await c.putMany(items(800));
    const damaged = [2, 5];
    // Objects that appeared behind the trees' back, in segments the trees hold empty (no spot
    // check samples those): only a rebuild from the heads can see them.
    for (const v of damaged) expect(await plantBehindTrees(c, v, 10)).toHaveLength(10);
    await c.close(); // saves the trees, which know nothing of the planted heads

    const d = await openAt(path);
    expect((await compareReplicas(d, fast)).inSync).toBe(true); // the trees lie
    const report = await verifyTrees(d);
    expect(report.differed.map((x) => x.vnode)).toEqual(damaged);
    expect(report.vnodes).toHaveLength(8);
    for (const x of report.differed) {
      expect(x.replaced).toBe(false);
      expect(x.keyspaces.reduce((n, k) => n + k.differingSegments, 0)).toBeGreaterThan(0);
    }
    expect((await compareReplicas(d, fast)).inSync).toBe(true); // nothing replaced yet

    const fixed = await verifyTrees(d, { fix: true });
    expect(fixed.differed.map((x) => [x.vnode, x.replaced])).toEqual(damaged.map((v) => [v, true]));
    await expectTreesMatchData(d.vnodes(), d.spec, (a, b, msg) => expect(a, msg).toEqual(b));
    const r = await compareReplicas(d, fast);
    expect(r.keys).toBe(20); // each planted key is on one replica of two
    expect((await repairReplicas(d, { ...fast, policy: 'lww' })).inSync).toBe(true);
    expect((await verifyTrees(d)).differed).toEqual([]);
  });

  test('law: a rebuild racing writes never reports a difference that is not there, and what it swaps in is exact', async () => {
    const path = join(dir.path, 'race');
    const c = await EmbeddedCluster.create(path, defaultSpec('race', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'xsmall' }));
    opened.push(c);
    await c.putMany(items(2000));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat({ max: 2999 }), fc.constantFrom('put', 'delete', 'erase')), { minLength: 1, maxLength: 60 }), async (ops) => {
        const v = c.vnode(ops[0]![0] % 8);
        // Slow enough that the writes below land while the snapshot is being folded.
        const rebuild = v.rebuildTrees({ replace: true, maxKeysPerSecond: 20_000 });
        const writes = ops.map(async ([i, op]) => {
          if (op === 'put') await c.put({ bucket: 'b', key: `k${i}`, value: 'again' });
          else if (op === 'delete') await c.delete('b', `k${i}`);
          else for (const w of c.preflistOf('b', `k${i}`)) await c.vnode(w).write([{ kind: 'erase', bucket: 'b', key: new TextEncoder().encode(`k${i}`) }]);
        });
        await Promise.all(writes);
        const check = await rebuild;
        expect(check.differed).toBe(false);
      }),
      { numRuns: 15 },
    );
    await expectTreesMatchData(c.vnodes(), c.spec, (a, b, msg) => expect(a, msg).toEqual(b));
  });
});

describe('scheduled rebuilds', () => {
  test('a vnode is due once its wait and its share of the delay have passed; a rebuild finds damage, replaces it, and resets the clock', async () => {
    const path = join(dir.path, 'c');
    const c = await EmbeddedCluster.create(path, defaultSpec('c', { nodeCount: 2, ringSize: 8, nVal: 1, treeSize: 'small' }));
    opened.push(c);
    await c.putMany(items(500));
    for (const v of c.vnodes()) await v.loadTrees();
    expect(await dueVnodes(c)).toEqual([]); // all just built: two weeks to go
    const built = (await c.vnode(3).builtRecord())!;
    expect(built.jitter).toBeGreaterThanOrEqual(0);
    expect(built.jitter).toBeLessThan(1);
    const eighteenDays = built.builtAt + 18 * 24 * 3_600_000;
    expect((await dueVnodes(c, undefined, eighteenDays)).map((v) => v.id).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await dueVnodes(c, { waitMs: 14 * 24 * 3_600_000, delayMs: 0 }, built.builtAt + 13 * 24 * 3_600_000)).toEqual([]);

    await plantBehindTrees(c, 3, 5);
    const rebuilt = await rebuildDueTrees([c], { now: () => eighteenDays, maxKeysPerSecond: 1e9 });
    expect(rebuilt.map((r) => r.vnode).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(rebuilt.filter((r) => r.differed).map((r) => [r.vnode, r.replaced])).toEqual([[3, true]]);
    await expectTreesMatchData(c.vnodes(), c.spec, (a, b, msg) => expect(a, msg).toEqual(b));
    expect((await c.vnode(3).builtRecord())!.builtAt).toBeGreaterThanOrEqual(built.builtAt);
    expect(await dueVnodes(c, undefined, Date.now())).toEqual([]);
  });

  test('stop lets the vnode in progress finish and starts no other', async () => {
    const c = await EmbeddedCluster.create(join(dir.path, 'c'), defaultSpec('c', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'small' }));
    opened.push(c);
    await c.putMany(items(200));
    for (const v of c.vnodes()) await v.loadTrees();
    const stop = new AbortController();
    const done = await rebuildDueTrees([c], { schedule: { waitMs: 0, delayMs: 0 }, stop: stop.signal, onRebuilt: () => stop.abort() });
    expect(done).toHaveLength(1);
  });
});
