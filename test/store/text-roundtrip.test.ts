import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { defaultSpec, makeClock, type IndexEntry } from '../../src/cluster/index.js';
import { isAaeError } from '../../src/errors.js';
import { KIND_INDEX, kindPrefix, parseIndexKey, prefixEnd } from '../../src/store/layout.js';
import { CanonicalKeyReader, decodeHead } from '../../src/store/codec.js';
import { encodeHead } from '../../src/store/head-encoder.js';
import { canonicalKey, utf8 } from '../../src/hash/index.js';
import { collect, useFreshCluster } from './helpers.js';
import type { StoredHead } from '../../src/store/index.js';

/**
 * Every string the store writes reads back byte for byte: buckets, keys given as text, clock
 * actors, index names and terms, text values. A TextDecoder without `ignoreBOM` drops a leading
 * U+FEFF, so a bucket "\ufeffb" read back as "b" (its keys could never be repaired), an actor
 * "\ufeff" read back empty (CLOCK_INVALID for the whole repair), and actors "\ufeffa" and "a" read
 * back as one actor twice. The law runs arbitrary Unicode, with BOMs and NULs (where allowed)
 * mixed in, through every decoder: heads (get, folds), canonical keys (folds, clocks), index keys
 * (index folds and the raw layout parser). Lone surrogates have no UTF-8 form: they are refused at
 * the door with a coded error and nothing is written.
 */

/** Pieces that make a string interesting: a BOM (leading, doubled, inside), NUL, astral, combining. */
const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('\ufeff', '\ufeff\ufeff', '\u0000', '\ufffe', '\uffff', 'é', 'e\u0301', '😀', '\u200b', 'a') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 3 }) },
);
const text = fc.array(piece, { maxLength: 4 }).map((ps) => ps.join('')).filter((s) => s.isWellFormed());
const noNul = text.map((s) => s.replaceAll('\0', ''));
const nonEmptyNoNul = noNul.filter((s) => s.length > 0);

const objectArb = fc.record({
  bucket: nonEmptyNoNul,
  key: text,
  // A leading BOM is the case the decoders lost: make sure every run has actors that start with one.
  actors: fc.uniqueArray(fc.oneof(text.filter((s) => s.length > 0), text.map((s) => `\ufeff${s}`)), { minLength: 1, maxLength: 4 }),
  indexes: fc.array(fc.tuple(nonEmptyNoNul, noNul), { maxLength: 3 }),
  value: text,
});

const spec = defaultSpec('text', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'small' });

describe('text round trip through the store', () => {
  const env = useFreshCluster(spec);

  test('law: every string written reads back exactly, through every decoder', async () => {
    await fc.assert(
      fc.asyncProperty(objectArb, async (o) => {
        const c = env.cluster;
        const clock = makeClock(
          o.actors.map((a, i) => [a, i + 1] as const),
          1,
        );
        const indexes: IndexEntry[] = o.indexes.map(([n, t]) => [n, t]);
        await c.put({ bucket: o.bucket, key: o.key, value: o.value, clock, indexes });
        const keyBytes = utf8(o.key);

        // get: the head decoder (actors, index names and terms) and the value.
        const got = await c.get(o.bucket, o.key);
        expect(got).not.toBeNull();
        expect(got!.clock.entries).toEqual(clock.entries);
        expect(new TextDecoder('utf-8', { ignoreBOM: true }).decode(got!.value)).toBe(o.value);
        const expectedIndexes = [...new Map(indexes.map((e) => [`${e[0]}\0${e[1]}`, e])).values()];
        expect([...got!.indexes].sort()).toEqual([...expectedIndexes].sort());

        // A head fold: the canonical-key reader (bucket) and the head decoder again.
        const vnode = c.vnode(c.preflistOf(o.bucket, o.key)[0]!);
        const heads = await collect<StoredHead>(vnode.foldHeads({ buckets: [o.bucket] }));
        const mine = heads.filter((h) => Buffer.from(h.key).equals(Buffer.from(keyBytes)));
        expect(mine).toHaveLength(1);
        expect(mine[0]!.bucket).toBe(o.bucket);
        expect(mine[0]!.clock.entries).toEqual(clock.entries);

        // Clocks by segment (what the exchange reads).
        const clocks = await vnode.fetchClocks({ keyspaces: [mine[0]!.keyspace] }, [mine[0]!.segment32 & 0xffff], 'small');
        const kc = clocks.filter((k) => k.bucket === o.bucket && Buffer.from(k.key).equals(Buffer.from(keyBytes)));
        expect(kc).toHaveLength(1);
        expect(kc[0]!.clock.entries).toEqual(clock.entries);

        // The index fold (terms) and the raw index-key parser (bucket, name, term).
        for (const [name, term] of expectedIndexes) {
          const entries = await collect(vnode.foldIndex({ bucket: o.bucket, index: name }));
          expect(entries.filter((e) => e.term === term && Buffer.from(e.key).equals(Buffer.from(keyBytes)))).toHaveLength(1);
        }
        const db = c.nodeDb(vnode.node);
        const prefix = kindPrefix(vnode.id, KIND_INDEX);
        const it = db.iterator({ gte: prefix, lt: prefixEnd(prefix) }, { values: false });
        const parsed = [];
        try {
          for (let e = await it.next(); e !== undefined; e = await it.next()) parsed.push(parseIndexKey(e[0]));
        } finally {
          await it.close();
        }
        for (const [name, term] of expectedIndexes) {
          expect(parsed.some((p) => p.bucket === o.bucket && p.index === name && p.term === term && Buffer.from(p.key).equals(Buffer.from(keyBytes)))).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  test('law: decode ∘ encode is the identity for heads and canonical keys, BOMs included', () => {
    fc.assert(
      fc.property(objectArb, (o) => {
        const clock = makeClock(
          o.actors.map((a, i) => [a, i + 1] as const),
          7,
        );
        const head = { clock, deleted: false, size: 1, hash: 2, alt: 3, indexes: o.indexes.map(([n, t]) => [n, t] as const) };
        expect(decodeHead(encodeHead(head))).toEqual(head);
        const reader = new CanonicalKeyReader();
        const key = reader.readKey(canonicalKey(o.bucket, utf8(o.key)));
        expect(reader.bucket).toBe(o.bucket);
        expect(Buffer.from(key).equals(Buffer.from(utf8(o.key)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('the cases the fault campaign found: a BOM bucket, an actor that is only a BOM, "\\ufeffa" beside "a"', async () => {
    const c = env.cluster;
    await c.put({ bucket: '\ufeffb', key: 'k', value: 'v', clock: makeClock([['\ufeff', 1], ['\ufeffa', 2], ['a', 3]], 5) });
    const got = await c.get('\ufeffb', 'k');
    expect(got!.clock.entries.map((e) => e[0]).sort()).toEqual(['\ufeff', '\ufeffa', 'a'].sort());
    const heads = await collect<StoredHead>(c.vnode(c.preflistOf('\ufeffb', 'k')[0]!).foldHeads({}));
    expect(heads.map((h) => h.bucket)).toEqual(['\ufeffb']);
  });

  test('lone surrogates are refused at the door, with a code, and nothing is written', async () => {
    const c = env.cluster;
    const lone = fc.sample(fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)), 20);
    for (const s of lone) {
      const attempts: Array<[() => Promise<unknown>, string]> = [
        [() => c.put({ bucket: `b${s}`, key: 'k', value: 'v' }), 'KEY_INVALID'],
        [() => c.put({ bucket: 'b', key: `k${s}`, value: 'v' }), 'KEY_INVALID'],
        [() => c.put({ bucket: 'b', key: 'k', value: `v${s}` }), 'INVALID_ARGUMENT'],
        [() => c.put({ bucket: 'b', key: 'k', value: 'v', clock: { entries: [[`a${s}`, 1]], lastModified: 1 } }), 'CLOCK_INVALID'],
        [() => c.put({ bucket: 'b', key: 'k', value: 'v', indexes: [[`i${s}`, 't']] }), 'KEY_INVALID'],
        [() => c.put({ bucket: 'b', key: 'k', value: 'v', indexes: [['i', `t${s}`]] }), 'KEY_INVALID'],
      ];
      for (const [attempt, code] of attempts) {
        const e = await attempt().then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(isAaeError(e) ? e.code : e).toBe(code);
      }
    }
    expect(await c.get('b', 'k')).toBeNull();
  });
});
