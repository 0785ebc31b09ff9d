import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { defaultSpec, makeClock } from '../../src/cluster/index.js';
import { isAaeError, type AaeError } from '../../src/errors.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { META_RING_KEY } from '../../src/store/layout.js';
import { tempDir } from './helpers.js';

/** An edited cluster.json must not silently misread the data written under the old one. */
let dir: { path: string; dispose: () => Promise<void> };
let at = '';
beforeEach(async () => {
  dir = await tempDir('aae-stamp-');
  at = join(dir.path, 'c');
  const c = await EmbeddedCluster.create(at, defaultSpec('c', { ringSize: 16, nVal: 2, nodeCount: 3, treeSize: 'small' }));
  await c.putMany(Array.from({ length: 50 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v', clock: makeClock([['a', 1]], 1) })));
  await c.close();
});
afterEach(() => dir.dispose());

type Spec = Record<string, unknown>;

async function editSpec(edit: (spec: Spec) => void): Promise<void> {
  const file = join(at, 'cluster.json');
  const spec = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(spec);
  await writeFile(file, JSON.stringify(spec));
}

const openError = (): Promise<unknown> => EmbeddedCluster.open(at).then(
  async (c) => {
    await c.close();
    return undefined;
  },
  (e: unknown) => e,
);

describe('the ring stamp', () => {
  test.each([
    ['ringSize', (s: Spec): void => void (s.ringSize = 32), ['ringSize', 'vnodes']],
    ['nVal', (s: Spec): void => void (s.nVal = 3), ['nVal']],
    ['seed', (s: Spec): void => void (s.seed = 7), ['seed']],
    ['hashMethod', (s: Spec): void => void (s.hashMethod = 'value'), ['hashMethod']],
    ['node order', (s: Spec): void => void (s.nodes = [...(s.nodes as string[])].reverse()), ['vnodes']],
  ] as const)('an edited %s is refused with CLUSTER_SPEC_INVALID naming what changed', async (_what, edit, fields) => {
    await editSpec(edit);
    const err = await openError();
    expect(isAaeError(err, 'CLUSTER_SPEC_INVALID')).toBe(true);
    expect((err as AaeError).details?.fields).toEqual(expect.arrayContaining([...fields]));
    expect((err as AaeError).message).toContain('Restore the cluster.json');
    // The refusal left the stores closed: with the spec restored, the cluster opens and reads.
    await editSpec((s) => {
      s.ringSize = 16;
      s.nVal = 2;
      s.seed = 0;
      s.hashMethod = 'clock';
      s.nodes = [...(s.nodes as string[])].sort();
    });
    const c = await EmbeddedCluster.open(at);
    try {
      expect(await c.get('b', 'k7')).not.toBeNull();
    } finally {
      await c.close();
    }
  });

  test('law: the refusal names, for every field that changed, what the data was written with and what cluster.json says', async () => {
    const original = JSON.parse(await readFile(join(at, 'cluster.json'), 'utf8')) as Spec;
    const written = { ringSize: 16, nVal: 2, seed: 0, hashMethod: 'clock' };
    const edit = fc.record(
      { ringSize: fc.constantFrom(8, 32, 64), nVal: fc.constantFrom(1, 3), seed: fc.integer({ min: 1, max: 1000 }), hashMethod: fc.constant('value') },
      { requiredKeys: [] },
    ).filter((e) => Object.keys(e).length > 0);
    await fc.assert(
      fc.asyncProperty(edit, async (e) => {
        await writeFile(join(at, 'cluster.json'), JSON.stringify({ ...original, ...e }));
        const err = await openError();
        expect(isAaeError(err, 'CLUSTER_SPEC_INVALID'), String(err)).toBe(true);
        const { details, message } = err as AaeError;
        for (const [f, now] of Object.entries(e)) {
          const was = written[f as keyof typeof written];
          expect(message).toContain(`${f}: written with ${JSON.stringify(was)}, cluster.json says ${JSON.stringify(now)}`);
          expect(details?.expected).toMatchObject({ [f]: now });
          expect(details?.found).toMatchObject({ [f]: was });
        }
      }),
      { numRuns: 20 },
    );
  });

  test('a changed node order names the vnodes the node was written holding and those cluster.json now deals it', async () => {
    await editSpec((s) => void (s.nodes = [...(s.nodes as string[])].reverse()));
    const err = await openError();
    expect(isAaeError(err, 'CLUSTER_SPEC_INVALID')).toBe(true);
    const { details, message } = err as AaeError;
    const found = (details?.found as { vnodes: number[] }).vnodes;
    const expected = (details?.expected as { vnodes: number[] }).vnodes;
    expect(found).not.toEqual(expected);
    expect(message).toContain(`written holding [${found.join(', ')}], cluster.json deals it [${expected.join(', ')}]`);
  });

  test('the tree size may change: trees are rebuilt from the heads', async () => {
    await editSpec((s) => (s.treeSize = 'medium'));
    const c = await EmbeddedCluster.open(at);
    try {
      expect(await c.get('b', 'k3')).not.toBeNull();
    } finally {
      await c.close();
    }
  });

  test('a store written before the stamp gets one on its next open, from the spec it is opened with', async () => {
    const c = await EmbeddedCluster.open(at);
    const nodes = c.spec.nodes;
    for (const node of nodes) await c.nodeDb(node).batch([{ type: 'del', key: META_RING_KEY }]);
    await c.close();
    const again = await EmbeddedCluster.open(at);
    try {
      for (const node of nodes) expect(await again.nodeDb(node).get(META_RING_KEY)).toBeDefined();
    } finally {
      await again.close();
    }
    await editSpec((s) => (s.ringSize = 32));
    expect(isAaeError(await openError(), 'CLUSTER_SPEC_INVALID')).toBe(true);
  });
});
