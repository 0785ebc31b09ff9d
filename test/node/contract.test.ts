import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { compareClusters, repairClusters } from '../../src/aae/index.js';
import { defaultSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { isAaeError } from '../../src/errors.js';
import { objectStats, runFold, type AnyFoldModule } from '../../src/fold/index.js';
import { loopbackNode, notPlainData, type LoopbackNode } from '../../src/testing/index.js';
import { aae, withTempDir } from '../cli/helpers.js';
import { tempDir } from '../store/helpers.js';

let dir: { path: string; dispose: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('aae-node-');
});
afterEach(async () => {
  await dir.dispose();
});

const fast = { pauseMs: 0, jitter: false } as const;

describe('plain data', () => {
  test('the loopback codec refuses what a socket could not carry, naming where it is', () => {
    class Tree {
      words = new Uint32Array(4);
    }
    expect(notPlainData({ a: [1, 'x', null, new Uint8Array(2), { b: true }] })).toBeNull();
    expect(notPlainData({ acc: new Tree() })).toBe('$.acc is an instance of Tree');
    expect(notPlainData({ m: new Map() })).toBe('$.m is an instance of Map');
    expect(notPlainData({ f: () => 1 })).toBe('$.f is a function');
    expect(notPlainData([{ x: 1n }])).toBe('$[0].x is a bigint');
  });
});

describe('folds run on the nodes', () => {
  test("a fold's data never leaves its node: what crosses is the same few hundred bytes for 400 objects as for 4,000", async () => {
    const handles: LoopbackNode[] = [];
    const c = await EmbeddedCluster.create(join(dir.path, 'c'), defaultSpec('c', { ringSize: 16, nVal: 3, nodeCount: 3, treeSize: 'small' }), {
      wrapNode: (n) => {
        const l = loopbackNode(n);
        handles.push(l);
        return l;
      },
    });
    try {
      const foldBytes = (): number => handles.reduce((s, h) => s + (h.stats.bytes['fold'] ?? 0), 0);
      const crossed: number[] = [];
      for (const count of [400, 4000]) {
        await c.putMany(Array.from({ length: count }, (_, i) => ({ bucket: 'b', key: `k${count}-${i}`, value: 'x'.repeat(200) })));
        const before = foldBytes();
        const { acc } = await runFold(c, objectStats, {}, { offset: 0 });
        expect(acc.count).toBe(count === 400 ? 400 : 4400);
        crossed.push(foldBytes() - before);
      }
      // The heads alone would be ~60 bytes each (≥ 24 KB and 264 KB); the accumulators are a few
      // hundred bytes a node, whatever the data.
      expect(crossed[0]!).toBeLessThan(4_000);
      expect(crossed[1]!).toBeLessThan(crossed[0]! * 1.2);
    } finally {
      await c.close();
    }
  });

  test('a module whose own code throws fails its fold with FOLD_MODULE_FAILED naming the node and vnode', async () => {
    const broken: AnyFoldModule = {
      ...objectStats,
      name: 'broken_stats',
      generateObjectFoldFun: () => () => {
        throw new Error('module bug');
      },
    };
    const c = await EmbeddedCluster.create(join(dir.path, 'c'), defaultSpec('c', { ringSize: 8, nVal: 1, nodeCount: 1, treeSize: 'xxsmall' }), { modules: [broken], wrapNode: loopbackNode });
    try {
      await c.put({ bucket: 'b', key: 'k', value: 'v' });
      const e = await runFold(c, broken, {}).catch((x: unknown) => x);
      expect(isAaeError(e, 'FOLD_MODULE_FAILED')).toBe(true);
      expect((e as Error).message).toMatch(/broken_stats failed on node n1, vnode \d+: module bug/);
    } finally {
      await c.close();
    }
  });

  test('a module whose promise never settles ends with TIMEOUT at the deadline, not never', async () => {
    const stuck: AnyFoldModule = {
      ...objectStats,
      name: 'stuck_stats',
      generateFlushFun: () => () => new Promise(() => undefined),
    };
    const c = await EmbeddedCluster.create(join(dir.path, 'c'), defaultSpec('c', { ringSize: 8, nVal: 1, nodeCount: 1, treeSize: 'xxsmall' }), { modules: [stuck] });
    try {
      await c.put({ bucket: 'b', key: 'k', value: 'v' });
      const e = await runFold(c, stuck, {}, { timeoutMs: 100 }).catch((x: unknown) => x);
      expect(isAaeError(e, 'TIMEOUT')).toBe(true);
    } finally {
      // The node's fold is still waiting on the module's promise: close without waiting for it.
      await c.close().catch(() => undefined);
    }
  });
});

test('a replica compare of a one-node cluster runs its dozens of exchanges without BACKLOG: tree reads take no fold slot', async () => {
  const c = await EmbeddedCluster.create(join(dir.path, 'one'), defaultSpec('one', { ringSize: 128, nVal: 3, nodeCount: 1, treeSize: 'xsmall' }), {
    wrapNode: loopbackNode,
    foldLimits: { maxRunning: 1, maxWaiting: 2 },
  });
  try {
    await c.putMany(Array.from({ length: 300 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v' })));
    await c.put({ bucket: 'b', key: 'k7', value: 'drift', replicas: 1 });
    const { compareReplicas } = await import('../../src/aae/index.js');
    const r = await compareReplicas(c, fast);
    expect(r.pairs).toBe(128 * 2);
    expect(r.keys).toBe(1);
  } finally {
    await c.close();
  }
});

describe('clockless data (hash method value)', () => {
  const spec = (name: string) => defaultSpec(name, { ringSize: 8, nVal: 2, nodeCount: 2, treeSize: 'small', hashMethod: 'value' });
  const row = fc.record({ value: fc.constantFrom('a', 'b', 'c', null), clock: fc.constantFrom<ReadonlyArray<readonly [string, number]>>([['w', 1]], [['w', 2]], [['x', 1]]) });

  test('law: compare finds exactly the keys whose values differ, whatever their clocks', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(row, row), { minLength: 1, maxLength: 12 }), async (rows) => {
        run++;
        const a = await EmbeddedCluster.create(join(dir.path, `a${run}`), spec('a'), { wrapNode: loopbackNode });
        const b = await EmbeddedCluster.create(join(dir.path, `b${run}`), spec('b'), { wrapNode: loopbackNode });
        try {
          const expected: string[] = [];
          for (const [i, [x, y]] of rows.entries()) {
            const key = `k${i}`;
            if (x.value !== null) await a.put({ bucket: 'b', key, value: x.value, clock: { entries: x.clock, lastModified: 1 } });
            if (y.value !== null) await b.put({ bucket: 'b', key, value: y.value, clock: { entries: y.clock, lastModified: 1 } });
            if (x.value !== y.value) expected.push(key);
          }
          const cmp = await compareClusters(a, b, fast);
          expect(cmp.differences.map((d) => Buffer.from(d.key).toString()).sort()).toEqual(expected.sort());
          expect(cmp.inSync).toBe(expected.length === 0);
        } finally {
          await a.close();
          await b.close();
        }
      }),
      { numRuns: 12 },
    );
  });

  test('two values under one clock: the difference is named, repair follows the policy and says so, and the sides then agree', async () => {
    const a = await EmbeddedCluster.create(join(dir.path, 'a'), spec('a'), { wrapNode: loopbackNode });
    const b = await EmbeddedCluster.create(join(dir.path, 'b'), spec('b'), { wrapNode: loopbackNode });
    try {
      const clock = { entries: [['w', 1]] as const, lastModified: 5 };
      await a.put({ bucket: 'b', key: 'k', value: 'hello', clock });
      await b.put({ bucket: 'b', key: 'k', value: 'HELLO', clock });
      const cmp = await compareClusters(a, b, fast);
      expect(cmp.differences.map((d) => [Buffer.from(d.key).toString(), d.ahead])).toEqual([['k', 'concurrent']]);
      const reported = await repairClusters(a, b, { ...fast, policy: 'report' });
      expect(reported.totals.reported).toBe(1);
      expect(reported.loops[0]!.stats.actions[0]).toMatchObject({ kind: 'report', conflict: 'same_clock' });
      const repaired = await repairClusters(a, b, { ...fast, policy: 'source', direction: 'to-sink' });
      expect(repaired.inSync).toBe(true);
      expect(repaired.loops[0]!.stats.actions[0]).toMatchObject({ kind: 'resolve', conflict: 'same_clock', from: 'a', to: ['b'] });
      expect(Buffer.from((await b.get('b', 'k'))!.value).toString()).toBe('hello');
      expect(Buffer.from((await a.get('b', 'k'))!.value).toString()).toBe('hello');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('aae compare exits 1 and names the key whose values differ under equal clocks', () =>
    withTempDir(async (tmp) => {
      for (const [name, value] of [['a', 'hello'], ['b', 'HELLO']] as const) {
        expect((await aae('cluster', 'create', join(tmp, name), '--nodes', '2', '--ring-size', '8', '--n-val', '2', '--hash-method', 'value')).code).toBe(0);
        const file = join(tmp, `${name}.jsonl`);
        await writeFile(file, `${JSON.stringify({ bucket: 'b', key: 'greeting', value, clock: [['w', 1]] })}\n`);
        expect((await aae('load', join(tmp, name), file)).code).toBe(0);
      }
      const r = await aae('compare', join(tmp, 'a'), join(tmp, 'b'), '--pause-ms', '0');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('greeting');
      const j = await aae('compare', join(tmp, 'a'), join(tmp, 'b'), '--pause-ms', '0', '--json');
      expect(j.code).toBe(1);
      expect(JSON.stringify(j.json())).toContain('greeting');
    }));
});
