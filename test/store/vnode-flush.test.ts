import fc from 'fast-check';
import { beforeAll, expect, test } from 'vitest';
import { defaultSpec, dominates, type AaeObject, type Clock } from '../../src/cluster/index.js';
import { initHash } from '../../src/hash/index.js';
import { type LocalVnode, type VnodeWrite } from '../../src/store/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { enc, expectTreesMatchData, keysHeldBy, useFileTempDir } from './helpers.js';

/**
 * One vnode flush holding many ops, repeats of a key among them: every op must see the head the
 * op before it (in the same flush, or stored) left, whether the key filter cleared the key or not.
 * Checked against a model of one key→head map, op by op, with the trees rebuilt from the data.
 */

const spec = defaultSpec('flush', { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' });
const dir = useFileTempDir();
let keys: string[] = [];
let run = 0;

beforeAll(async () => {
  await initHash();
  keys = keysHeldBy(spec, 0, ['k'], 6); // vnode 0 holds their keyspaces
});

type Op = { kind: 'put'; key: number; counter: number; actor: string; deleted: boolean; ifDominates: boolean } | { kind: 'erase'; key: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), key: fc.nat(5), counter: fc.integer({ min: 1, max: 3 }), actor: fc.constantFrom('x', 'y'), deleted: fc.boolean(), ifDominates: fc.boolean() }),
  fc.record({ kind: fc.constant('erase' as const), key: fc.nat(5) }),
);

function objectOf(op: Extract<Op, { kind: 'put' }>, i: number): AaeObject {
  const clock: Clock = { entries: [[op.actor, op.counter]], lastModified: 1000 + i };
  return { bucket: 'b', key: enc(keys[op.key]!), clock, value: op.deleted ? new Uint8Array(0) : enc(`v${i}`), deleted: op.deleted, indexes: [] };
}

function writeOf(op: Op, i: number): VnodeWrite {
  return op.kind === 'erase' ? { kind: 'erase', bucket: 'b', key: enc(keys[op.key]!) } : { kind: 'put', object: objectOf(op, i), ifDominates: op.ifDominates };
}

test('law: a flush with repeated keys gives each op the head before it, and leaves the model’s heads and true trees', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 12 }), fc.array(opArb, { minLength: 1, maxLength: 30 }), async (before, ops) => {
      const cluster = await EmbeddedCluster.create(`${dir.path}/c${run++}`, spec);
      try {
        const vnode: LocalVnode = cluster.vnode(0);
        const model = new Map<number, AaeObject | null>();
        const apply = (op: Op, i: number): Clock | null => {
          const old = model.get(op.key) ?? null;
          if (op.kind === 'erase') model.set(op.key, null);
          else if (!op.ifDominates || old === null || dominates(objectOf(op, i).clock, old.clock)) model.set(op.key, objectOf(op, i));
          return old?.clock ?? null;
        };
        // Some keys stored by an earlier flush (the filter says "maybe" for them), then one flush.
        if (before.length > 0) await vnode.write(before.map((op, i) => writeOf(op, -1 - i)));
        before.forEach((op, i) => apply(op, -1 - i));
        const results = await vnode.write(ops.map(writeOf));
        ops.forEach((op, i) => {
          const expected = apply(op, i);
          expect(results[i]?.clock ?? null, `op ${i}`).toEqual(expected);
        });
        for (const [k, obj] of model) {
          const got = await vnode.get('b', enc(keys[k]!));
          expect(got?.clock ?? null, keys[k]).toEqual(obj?.clock ?? null);
          expect(got?.deleted ?? null).toEqual(obj?.deleted ?? null);
        }
        await expectTreesMatchData([vnode], spec, (a, b, msg) => expect(a, msg).toEqual(b));
      } finally {
        await cluster.close();
      }
    }),
    { numRuns: 40 },
  );
});

test('a vnode write refuses a clock that is not valid or not in normal form, before anything is queued', async () => {
  const cluster = await EmbeddedCluster.create(`${dir.path}/bad-clock`, spec);
  try {
    const key = enc(keys[0]!);
    const v = cluster.vnode(0);
    const bad: Array<[string, Clock]> = [
      ['a fractional time', { entries: [['x', 1]], lastModified: 1.5 }],
      ['a negative time', { entries: [['x', 1]], lastModified: -1 }],
      ['unsorted entries', { entries: [['y', 1], ['x', 1]], lastModified: 1 }],
      ['a zero counter', { entries: [['x', 0]], lastModified: 1 }],
    ];
    for (const [what, clock] of bad) {
      const w = v.write([{ kind: 'put', object: { bucket: 'b', key, clock, value: enc('v'), deleted: false, indexes: [] } }]);
      await expect(w, what).rejects.toMatchObject({ code: 'CLOCK_INVALID' });
    }
    await expect(v.get('b', key)).resolves.toBeNull();
  } finally {
    await cluster.close();
  }
});

test('the write path refuses to run with a write listener on the raw LevelDB (it would keep the reused key buffers)', async () => {
  const cluster = await EmbeddedCluster.create(`${dir.path}/listener`, spec);
  try {
    const v = cluster.vnode(0);
    const raw = cluster.nodeDb(v.node).raw;
    const listener = (): void => undefined;
    raw.on('write', listener);
    const object: AaeObject = { bucket: 'b', key: enc(keys[0]!), clock: { entries: [['x', 1]], lastModified: 1 }, value: enc('v'), deleted: false, indexes: [] };
    await expect(v.write([{ kind: 'put', object }])).rejects.toMatchObject({ code: 'INTERNAL' });
    raw.off('write', listener);
    await v.write([{ kind: 'put', object }]);
    expect((await v.get('b', enc(keys[0]!)))?.clock.entries).toEqual([['x', 1]]);
  } finally {
    await cluster.close();
  }
});
