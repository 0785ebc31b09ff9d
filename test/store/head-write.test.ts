import fc from 'fast-check';
import { beforeAll, expect, test } from 'vitest';
import { defaultSpec, makeClock } from '../../src/cluster/index.js';
import { canonicalKey, contribution, initHash, keyHash } from '../../src/hash/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import type { VnodeWrite } from '../../src/store/index.js';
import { TicTacTree } from '../../src/tictac/index.js';
import { codeOf } from '../support/errors.js';
import { collect, enc, useFileTempDir } from './helpers.js';

/**
 * The `head` write kind: a head with a given object hash and size and no value (a keystore's).
 * Law: after any sequence of head writes, puts and erases (in one flush or many), every cached
 * tree equals the tree built from the model's hashes with the hash functions, and equals a rebuild
 * from the stored heads; each head reads back with the hash and size it was given.
 */

const spec = defaultSpec('heads', { ringSize: 8, nVal: 1, nodes: ['n1'], treeSize: 'xxsmall', hashMethod: 'value' });
const dir = useFileTempDir('aae-head-write-');
let run = 0;

beforeAll(async () => {
  await initHash();
});

type Op = { kind: 'head'; key: number; hash: number; size: number } | { kind: 'put'; key: number; value: string } | { kind: 'erase'; key: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('head' as const), key: fc.nat(11), hash: fc.nat({ max: 0xffff_ffff }), size: fc.nat(1000) }),
  fc.record({ kind: fc.constant('put' as const), key: fc.nat(11), value: fc.string({ maxLength: 4 }) }),
  fc.record({ kind: fc.constant('erase' as const), key: fc.nat(11) }),
);

const keyOf = (k: number): Uint8Array => enc(`key-${k}`);

test('law: head writes keep every tree equal to the model and to a rebuild from the heads', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(opArb, { maxLength: 12 }), { maxLength: 5 }), fc.boolean(), async (flushes, reopen) => {
      const path = `${dir.path}/c${run++}`;
      let c = await EmbeddedCluster.create(path, spec);
      const model = new Map<number, { hash: number; size: number }>();
      const { objectHashOfValue } = await import('../../src/hash/index.js');
      try {
        for (const ops of flushes) {
          // One flush per vnode: the writes of a list are pushed together.
          const perVnode = new Map<number, VnodeWrite[]>();
          for (const op of ops) {
            const key = keyOf(op.key);
            let w: VnodeWrite;
            if (op.kind === 'head') {
              w = { kind: 'head', bucket: 'b', key, clock: makeClock([['x', 1]], 5), hash: op.hash, size: op.size, deleted: false };
              model.set(op.key, { hash: op.hash, size: op.size });
            } else if (op.kind === 'put') {
              const value = enc(op.value);
              w = { kind: 'put', object: { bucket: 'b', key, clock: makeClock([['x', 1]], 5), value, deleted: false, indexes: [['i', 't']] } };
              model.set(op.key, { hash: objectHashOfValue(value, spec.seed), size: value.byteLength });
            } else {
              w = { kind: 'erase', bucket: 'b', key };
              model.delete(op.key);
            }
            const v = c.preflistOf('b', key)[0]!;
            perVnode.set(v, [...(perVnode.get(v) ?? []), w]);
          }
          await Promise.all([...perVnode].map(([v, ws]) => c.vnode(v).write(ws)));
        }
        if (reopen) {
          await c.close({ saveTrees: false }); // the next open rebuilds from heads, as after a crash
          c = await EmbeddedCluster.open(path);
        }
        const expected = TicTacTree.create(spec.treeSize);
        for (const [k, { hash }] of model) {
          const { segment32, alt } = keyHash(canonicalKey('b', keyOf(k)), spec.seed);
          expected.add(segment32, contribution(alt, hash));
        }
        const merged = TicTacTree.create(spec.treeSize);
        for (const v of c.vnodes()) {
          for (const ix of v.indexNs) {
            const cached = await v.fetchTree(ix);
            expect(cached.equals(await v.treeFromHeads(ix.keyspace))).toBe(true);
            merged.mergeInPlace(cached);
          }
        }
        expect(merged.equals(expected)).toBe(true);
        for (const [k, { hash, size }] of model) {
          const head = await c.vnode(c.preflistOf('b', keyOf(k))[0]!).getHead('b', keyOf(k));
          expect({ hash: head!.hash, size: head!.size }).toEqual({ hash, size });
        }
        // A head write drops the index entries a put had left.
        let entries = 0;
        for (const v of c.vnodes()) entries += (await collect(v.foldIndex({ bucket: 'b', index: 'i' }))).length;
        const puts = [...model.keys()].length;
        expect(entries).toBeLessThanOrEqual(puts);
      } finally {
        await c.close();
      }
    }),
    { numRuns: 25 },
  );
});

test('a head write is validated before anything is queued', async () => {
  const c = await EmbeddedCluster.create(`${dir.path}/bad`, spec);
  try {
    const v = c.vnode(c.preflistOf('b', keyOf(0))[0]!);
    const good = { kind: 'head' as const, bucket: 'b', key: keyOf(0), clock: makeClock([['x', 1]], 5), hash: 1, size: 1, deleted: false };
    for (const bad of [{ ...good, hash: -1 }, { ...good, hash: 2 ** 32 }, { ...good, size: 1.5 }, { ...good, bucket: '' }]) {
      const code = await v.write([bad]).then(
        () => undefined,
        (e: unknown) => codeOf(() => {
          throw e;
        }),
      );
      expect(code).toMatch(/INVALID_ARGUMENT|KEY_INVALID/);
    }
    expect(await v.getHead('b', keyOf(0))).toBeNull();
  } finally {
    await c.close();
  }
});
