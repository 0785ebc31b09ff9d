import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { defaultSpec, parseLoadRecord, type LoadRecord } from '../../src/cluster/index.js';
import { isAaeError } from '../../src/errors.js';
import { loadFile } from '../../src/cli/load-file.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { collect } from '../store/helpers.js';
import { withTempDir } from '../cli/helpers.js';

/**
 * A fuzzer for load lines, run in the suite: at least 10,000 inputs a run. Lines are records near
 * the grammar (every field sometimes right, sometimes wrong in a way someone will get it wrong:
 * lone surrogates, NUL, empty names, counters that are strings, floats, negative, huge or nested
 * thousands deep, unknown fields, both value and base64), arbitrary JSON, and raw text.
 *
 * - No input crashes: a line is accepted, or refused with LOAD_INVALID (never another error, never
 *   a stack trace; the message stays short).
 * - Every accepted line reads back exactly: loaded into a real cluster, each key's version is the
 *   one its last line gave (bucket, key, value, tombstone, index entries, clock, time).
 * - Every refused file writes nothing: a file with one refused line among good ones loads nothing.
 */

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '\u0000', '\ud800', 'a\udfff', '\ufeff', '\u001b[2J', 'é', '😀', 'x'.repeat(300)) },
);
/** Text the grammar accepts where a name goes: well-formed, no NUL, not empty. */
const name = text.filter((t) => t.length > 0 && !t.includes('\u0000') && t.isWellFormed());
const term = text.filter((t) => !t.includes('\u0000') && t.isWellFormed());

/**
 * A counter nested `d` lists deep, written as a placeholder that `serialise` expands in the text
 * (a value nested thousands deep would overflow the generator's own JSON.stringify).
 */
const nested = fc.integer({ min: 1, max: 6000 }).map((d) => `__NESTED_${d}__`);
const serialise = (r: unknown): string =>
  JSON.stringify(r).replace(/"__NESTED_(\d+)__"/g, (_m, d: string) => `${'['.repeat(Number(d))}1${']'.repeat(Number(d))}`);

/** A record the grammar accepts: every field right, each optional one present or not. */
const validRecord = fc
  .record({
    bucket: fc.oneof(fc.constantFrom('b', 'users', 'c'), name),
    key: fc.oneof(text.filter((t) => t.isWellFormed()), fc.uint8Array({ maxLength: 6 }).map((b) => ({ base64: Buffer.from(b).toString('base64') }))),
    body: fc.oneof(
      fc.constant({}),
      text.filter((t) => t.isWellFormed()).map((value) => ({ value })),
      fc.uint8Array({ maxLength: 8 }).map((b) => ({ base64: Buffer.from(b).toString('base64') })),
      fc.constant({ deleted: true }),
    ),
    clock: fc.option(fc.uniqueArray(fc.tuple(fc.oneof(fc.constantFrom('src', 'a', 'b'), name), fc.integer({ min: 1, max: 1000 })), { selector: (e) => e[0], minLength: 1, maxLength: 4 }), { nil: undefined }),
    lastModified: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
    indexes: fc.option(fc.array(fc.tuple(name, term), { maxLength: 3 }), { nil: undefined }),
  })
  .map(({ bucket, key, body, clock, lastModified, indexes }) => ({
    bucket,
    key,
    ...body,
    ...(clock === undefined ? {} : { clock }),
    ...(lastModified === undefined ? {} : { lastModified }),
    ...(indexes === undefined || 'deleted' in body ? {} : { indexes }),
  }));

/** Wrong values someone will write, by field. */
const wrong: Record<string, fc.Arbitrary<unknown>> = {
  bucket: fc.constantFrom('', 'a\u0000b', '\ud800', 1, null, ['b']),
  key: fc.constantFrom({ base64: '!!' }, { base64: 'AA' }, { base64: 'AA==', x: 1 }, 7, null, ['k'], 'k\udc00'),
  value: fc.constantFrom(1, null, 'v\ud800', { text: 'v' }),
  base64: fc.constantFrom('%%', 3, 'QQ'),
  clock: fc.oneof(
    fc.constantFrom('src:1', {}, [['a']], [['a', 1, 2]], [[1, 1]], [], [['a', 0]], [['a', 1], ['a', 2]], [['', 1]], [['\udfff', 1]]),
    fc.constantFrom(-1, 1.5, 2 ** 53, '1', null, true, 1e308).map((c) => [['src', c]]),
    nested.map((c) => [['src', c]]),
  ),
  lastModified: fc.constantFrom(-5, 1.25, 8.64e15 + 1, '5', null),
  deleted: fc.constantFrom('yes', 1, null),
  indexes: fc.constantFrom('i=t', [['only']], [[1, 2]], [['', 't']], [['i', 'a\u0000b']], [['i\ud800', 't']]),
  colour: fc.constant('an unknown field'),
};
/** A valid record with one field made wrong (or, as someone will, a value and base64 both, or a tombstone with a value). */
const brokenRecord = fc.oneof(
  validRecord.chain((r) => fc.constantFrom(...Object.keys(wrong)).chain((f) => wrong[f]!.map((v) => ({ ...r, [f]: v })))),
  validRecord.map((r) => ({ ...r, value: 'v', base64: 'dg==' })),
  validRecord.map((r) => ({ ...r, deleted: true, value: 'still here' })),
);
const lineArb = fc.oneof(
  { weight: 9, arbitrary: validRecord.map(serialise) },
  { weight: 9, arbitrary: brokenRecord.map(serialise) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: validRecord.map(serialise).chain((s) => fc.nat({ max: s.length }).map((n) => s.slice(0, n))) },
);

/** The line's verdict: the record, or the LOAD_INVALID that refused it. Anything else fails the test. */
function judge(line: string): { ok: true; record: LoadRecord } | { ok: false; message: string } {
  try {
    return { ok: true, record: parseLoadRecord(line) };
  } catch (e) {
    if (!isAaeError(e, 'LOAD_INVALID')) throw new Error(`line ${JSON.stringify(line.slice(0, 200))} threw ${String(e)}`);
    return { ok: false, message: e.message };
  }
}

const RUNS = 10_000;

describe('load-line fuzzer', () => {
  test(`${RUNS} lines: each is accepted or refused with LOAD_INVALID and a short message; none crashes`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(lineArb, (line) => {
        const v = judge(line);
        if (v.ok) accepted++;
        else expect(v.message.length).toBeLessThan(400);
      }),
      { numRuns: RUNS },
    );
    // The generator must reach both sides of the grammar, or the runs above prove little.
    expect(accepted).toBeGreaterThan(RUNS / 20);
    expect(accepted).toBeLessThan(RUNS - RUNS / 20);
  });

  test('accepted lines read back exactly; a file with one refused line writes nothing', () =>
    withTempDir(async (tmp) => {
      const c = await EmbeddedCluster.create(join(tmp, 'c'), defaultSpec('c', { nodeCount: 2, ringSize: 8, nVal: 2, treeSize: 'xsmall' }));
      try {
        const seed = Date.now() & 0x7fffffff; // in every message below: a failure can be replayed
        const sample = fc.sample(lineArb, { numRuns: 4000, seed });
        const good = sample.filter((l) => judge(l).ok).slice(0, 400);
        // A refused line that is a line of a file: not blank (a file's blank lines are skipped)
        // and without a line break (which would make it two lines).
        const bad = sample.filter((l) => !judge(l).ok && l.trim() !== '' && !/[\r\n]/.test(l)).slice(0, 20);
        expect(good.length).toBeGreaterThan(100);

        // Refused files: good lines around one bad line. Nothing lands.
        for (const [i, b] of bad.entries()) {
          const file = join(tmp, `bad${i}.jsonl`);
          await writeFile(file, [...good.slice(0, 5), b, ...good.slice(5, 10)].join('\n'));
          const e = await loadFile(c, file).then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(isAaeError(e, 'LOAD_INVALID'), `seed ${seed}: ${JSON.stringify(b)} gave ${String(e)}`).toBe(true);
        }
        expect(await collect(c.vnode(0).foldHeads({}))).toEqual([]);
        for (const v of c.vnodes()) expect(await collect(v.foldHeads({}))).toHaveLength(0);

        // Accepted lines: the last line of each key decides what every replica holds.
        const file = join(tmp, 'good.jsonl');
        await writeFile(file, good.join('\n'));
        const r = await loadFile(c, file);
        expect(r.written).toBe(good.length);
        const last = new Map<string, LoadRecord>();
        for (const l of good) {
          const rec = parseLoadRecord(l);
          last.set(`${rec.bucket}\u0000${Buffer.from(rec.key).toString('hex')}`, rec);
        }
        const wrong: string[] = [];
        for (const rec of last.values()) {
          for (const rep of await c.getReplicas(rec.bucket, rec.key)) {
            const o = rep.object;
            const sameIndexes = o !== null && JSON.stringify(o.indexes) === JSON.stringify(rec.deleted ? [] : rec.indexes);
            const sameClock = rec.clock === undefined || (o !== null && JSON.stringify(o.clock) === JSON.stringify(rec.clock));
            if (o === null || o.bucket !== rec.bucket || !Buffer.from(o.key).equals(Buffer.from(rec.key)) || !Buffer.from(o.value).equals(Buffer.from(rec.value)) || o.deleted !== rec.deleted || !sameIndexes || !sameClock) {
              wrong.push(`${JSON.stringify(rec.bucket)}/${Buffer.from(rec.key).toString('hex')} on vnode ${rep.vnode}`);
            }
          }
        }
        expect(wrong, `seed ${seed}`).toEqual([]);
      } finally {
        await c.close();
      }
    }));
});
