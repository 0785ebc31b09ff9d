import { afterEach, beforeEach, expect, test } from 'vitest';
import { defaultSpec, type AaeObject } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { tempDir } from './helpers.js';

/**
 * Every write settles, whenever it is made: a caller that awaits a write and writes again some
 * microtasks later (through a few layers of async helpers, say) must never find its write left in
 * a queue that has stopped (see the drain window in write-queue.test.ts).
 */

const spec = defaultSpec('strand', { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' });
let dir: { path: string; dispose: () => Promise<void> };
let cluster: EmbeddedCluster;
beforeEach(async () => {
  dir = await tempDir();
  cluster = await EmbeddedCluster.create(dir.path, spec);
});
const within = <T>(p: Promise<T>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
afterEach(async () => {
  await within(cluster.close().catch(() => undefined), 2000);
  await dir.dispose();
});

const settlesWithin = <T>(p: Promise<T>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

test('cluster.put, awaited, then another put some microtasks later: every put settles', async () => {
  const stranded: number[] = [];
  for (let ticks = 0; ticks < 16; ticks++) {
    let second: Promise<unknown> | undefined;
    await cluster.put({ bucket: 'b', key: `a${ticks}`, value: 'x' }).then(async () => {
      for (let t = 0; t < ticks; t++) await null;
      second = cluster.put({ bucket: 'b', key: `b${ticks}`, value: 'y' });
    });
    for (let t = 0; t < 40; t++) await null;
    if (!(await settlesWithin(second!, 500))) {
      stranded.push(ticks);
      // unstick it so the next round and close() can go on
      await cluster.put({ bucket: 'b', key: 'unstick', value: 'z' });
    }
  }
  expect(stranded).toEqual([]);
});

test('vnode.write, awaited, then another write some microtasks later: every write settles', async () => {
  const v = cluster.vnode(0);
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const stranded: number[] = [];
  const keyOf = (): Uint8Array => {
    for (;;) {
      const k = enc(`k${Math.random()}`);
      try {
        // only keys vnode 0 holds
        if (cluster.preflistOf('b', k).includes(0)) return k;
      } catch {
        /* ignore */
      }
    }
  };
  for (let ticks = 0; ticks < 16; ticks++) {
    let second: Promise<unknown> | undefined;
    const obj = (key: Uint8Array) => ({ bucket: 'b', key, clock: { entries: [['x', 1] as const], lastModified: 1 }, value: enc('v'), deleted: false, indexes: [] });
    await v.write([{ kind: 'put', object: obj(keyOf()) }]).then(async () => {
      for (let t = 0; t < ticks; t++) await null;
      second = v.write([{ kind: 'put', object: obj(keyOf()) }]);
    });
    for (let t = 0; t < 40; t++) await null;
    if (!(await settlesWithin(second!, 500))) {
      stranded.push(ticks);
      await v.write([{ kind: 'put', object: obj(keyOf()) }]);
    }
  }
  expect(stranded).toEqual([]);
});

test('a sequential loop of puts through nested async helpers always finishes', async () => {
  const hung: number[] = [];
  for (let depth = 0; depth <= 6; depth++) {
    // save0 = put; saveN = async (k) => await save(N-1)(k)
    let save = (k: string): Promise<AaeObject> => cluster.put({ bucket: 'b', key: k, value: 'v' });
    for (let d = 0; d < depth; d++) {
      const inner = save;
      save = async (k) => await inner(k);
    }
    const loop = (async () => {
      for (let i = 0; i < 5; i++) await save(`d${depth}k${i}`);
    })();
    if (!(await within(loop, 1000))) {
      hung.push(depth);
      break; // the loop is stuck for good: stop here
    }
  }
  expect(hung).toEqual([]);
});
