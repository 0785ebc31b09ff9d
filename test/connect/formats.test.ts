import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { keystoreClock, sourceActor } from '../../src/connect/keystore-clock.js';
import { rowClock } from '../../src/connect/keystore-store.js';
import { compareClocks } from '../../src/cluster/index.js';
import { encodeState, initialState, nextRebuild, parseState } from '../../src/connect/keystore-state.js';
import { compareLsn, formatLsn, lsnDistance, parseLsn } from '../../src/connect/pg/lsn.js';
import { parseTimestampMs } from '../../src/connect/pg/pg-rows.js';
import { canonicalRowBytes, decodeRowBytes } from '../../src/connect/row-bytes.js';
import { encodeSourceSpec, parseSourceSpec } from '../../src/connect/source-spec.js';
import { isAaeError } from '../../src/errors.js';
import { initHash, objectHashOfValue, utf8 } from '../../src/hash/index.js';

/**
 * The keystore's formats: canonical row bytes (frozen vectors), source.json and state.json (frozen
 * fixtures decoded), and the pure helpers (LSNs, timestamps, the rebuild schedule).
 */

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8'));

beforeAll(async () => {
  await initHash();
});

describe('canonical row bytes', () => {
  const { vectors } = fixture('row-bytes-v1.json') as { vectors: Array<{ values: Array<string | null>; hex: string; hashSeed0: number; size: number; clockActor: string }> };

  test('the frozen vectors: bytes, hash, size and clock actor (fix the code, never the fixture)', () => {
    expect(vectors.length).toBeGreaterThan(10);
    for (const v of vectors) {
      const b = canonicalRowBytes(v.values);
      expect(Buffer.from(b).toString('hex'), JSON.stringify(v.values)).toBe(v.hex);
      expect(objectHashOfValue(b, 0)).toBe(v.hashSeed0);
      expect(b.length).toBe(v.size);
      expect(keystoreClock(v.hashSeed0, 0).entries).toEqual([[v.clockActor, 1]]);
      expect(decodeRowBytes(b, v.values.length)).toEqual(v.values);
    }
  });

  test('one text column hashes as exactly its text (so a table id, val equals strings holding val)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(canonicalRowBytes([s])).toEqual(utf8(s));
      }),
    );
  });

  test('law: decode∘encode is the identity, and distinct rows of one width have distinct bytes', () => {
    const row = (n: number) => fc.array(fc.option(fc.string(), { nil: null }), { minLength: n, maxLength: n });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(row(n), row(n))), ([a, b]) => {
        const ea = canonicalRowBytes(a);
        expect(decodeRowBytes(ea, a.length)).toEqual(a);
        const same = a.every((x, i) => x === b[i]);
        expect(Buffer.compare(ea, canonicalRowBytes(b)) === 0).toBe(same);
      }),
    );
  });

  test('NULL differs from the empty text, and several columns never equal one', () => {
    expect(canonicalRowBytes([null])).not.toEqual(canonicalRowBytes(['']));
    expect(canonicalRowBytes([null, ''])).not.toEqual(canonicalRowBytes(['', null]));
    fc.assert(
      fc.property(fc.string(), fc.array(fc.option(fc.string(), { nil: null }), { minLength: 2, maxLength: 3 }), (one, several) => {
        expect(Buffer.compare(canonicalRowBytes([one]), canonicalRowBytes(several))).not.toBe(0);
      }),
    );
  });

  test('malformed bytes are refused', () => {
    // truncated; a bad value tag; trailing bytes; one value that is not UTF-8
    for (const [hex, n] of [['fe02', 2], ['fe020061', 2], ['fe0200000a', 2], ['ff00', 1], ['fe0100', 1]] as const) {
      expect(() => decodeRowBytes(Buffer.from(hex, 'hex'), n), hex).toThrow(/not canonical row bytes/);
    }
    expect(() => decodeRowBytes(Buffer.from('fe0100', 'hex'), 2)).toThrow(/1 values where 2/);
  });
});

describe('keystore clocks', () => {
  const { actors } = fixture('keystore-clock-v2.json') as { actors: Array<{ parts: string[]; actor: string }> };

  test('the frozen actors of source identities (fix the code, never the fixture)', () => {
    expect(actors.length).toBeGreaterThan(4);
    for (const a of actors) expect(sourceActor(a.parts), JSON.stringify(a.parts)).toBe(a.actor);
    // The timeline is part of the history: a restore's new timeline is another actor.
    expect(actors[0]!.actor).not.toBe(actors[1]!.actor);
  });

  test('law: in one history the later position descends from the earlier; another history, or a hash clock, is concurrent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 52 }), fc.integer({ min: 1, max: 2 ** 52 }), fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 0xffff_ffff }), (p, q, h1, h2) => {
        const a = rowClock(h1, 1000, { actor: '@a', counter: p });
        const b = rowClock(h2, 2000, { actor: '@a', counter: q });
        expect(compareClocks(a, b)).toBe(p === q ? 'equal' : p < q ? 'right' : 'left');
        expect(compareClocks(a, rowClock(h2, 2000, { actor: '@b', counter: q }))).toBe('concurrent');
        expect(compareClocks(a, rowClock(h1, 1000))).toBe('concurrent');
      }),
    );
  });

  test('a row without a position (or with one that is no counter) gets the hash clock; a bad time is refused', () => {
    expect(rowClock(0xfb0077f9, 5)).toEqual({ entries: [['#fb0077f9', 1]], lastModified: 5 });
    expect(rowClock(0xfb0077f9, 5, { actor: '@a', counter: 0 })).toEqual({ entries: [['#fb0077f9', 1]], lastModified: 5 });
    expect(rowClock(1, 5, { actor: '@a', counter: 2 ** 53 })).toEqual({ entries: [['#00000001', 1]], lastModified: 5 });
    expect(() => rowClock(1, -1, { actor: '@a', counter: 2 })).toThrow(expect.objectContaining({ code: 'CLOCK_INVALID' }));
  });
});

describe('source.json', () => {
  test('the frozen Redis and etcd specs decode, and encoding them gives the same spec back', () => {
    for (const name of ['keystore-source-redis-v1.json', 'keystore-source-etcd-v1.json']) {
      const spec = parseSourceSpec(fixture(name));
      expect(JSON.parse(encodeSourceSpec(spec)), name).toEqual(fixture(name));
    }
    const redis = fixture('keystore-source-redis-v1.json') as { source: Record<string, unknown> };
    expect(() => parseSourceSpec({ ...redis, source: { ...redis.source, hashScheme: 'sha1' } })).toThrow(/source.hashScheme: must be 'xxh32'/);
  });

  test('the frozen fixture decodes, and encoding it gives the same spec back', () => {
    const spec = parseSourceSpec(fixture('keystore-source-v1.json'));
    expect(spec.source).toMatchObject({ engine: 'postgresql', table: 'kv', key: ['id'], columns: ['val', 'n'] });
    expect(parseSourceSpec(JSON.parse(encodeSourceSpec(spec)))).toEqual(spec);
  });

  test('every bad field is named, with a stable code', () => {
    const good = fixture('keystore-source-v1.json') as Record<string, unknown> & { source: Record<string, unknown> };
    const cases: Array<[unknown, string]> = [
      [{ ...good, bucket: '' }, 'bucket'],
      [{ ...good, rebuildEveryMs: -1 }, 'rebuildEveryMs'],
      [{ ...good, extra: 1 }, 'extra'],
      [{ ...good, source: { ...good.source, url: 'mysql://x' } }, 'source.url'],
      [{ ...good, source: { ...good.source, key: [] } }, 'source.key'],
      [{ ...good, source: { ...good.source, slot: 'Bad-Slot' } }, 'source.slot'],
      [{ ...good, source: { ...good.source, engine: 'oracle' } }, 'source.engine'],
      [{ ...good, source: { ...good.source, columns: ['a'.repeat(64)] } }, 'source.columns.0'],
    ];
    for (const [json, field] of cases) {
      try {
        parseSourceSpec(json);
        expect.unreachable(field);
      } catch (e) {
        expect(isAaeError(e, 'CONNECT_SPEC_INVALID'), String(e)).toBe(true);
        expect((e as { details: { fields: string[] } }).details.fields).toContain(field);
        expect((e as Error).message).toContain(field);
      }
    }
  });
});

describe('state.json', () => {
  test('the frozen fixture decodes; a new state is unreliable until built', () => {
    const s = parseState(fixture('keystore-state-v1.json'));
    expect(s).toMatchObject({ phase: 'ready', reliable: true, position: '16/B374D848' });
    expect(parseState(JSON.parse(encodeState(s)))).toEqual(s);
    expect(initialState()).toMatchObject({ phase: 'new', reliable: false });
    expect(() => parseState({ ...s, phase: 'done' })).toThrow(expect.objectContaining({ code: 'KEYSTORE_STATE_INVALID' }));
  });

  test('the scheduled rebuild falls in [every, every + jitter) after the build; 0 means never', () => {
    fc.assert(
      fc.property(fc.nat(2 ** 40), fc.integer({ min: 1, max: 2 ** 31 }), fc.nat(2 ** 31), fc.double({ min: 0, max: 0.999999, noNaN: true }), (from, every, jitter, r) => {
        const at = nextRebuild(from, every, jitter, () => r)!;
        expect(at).toBeGreaterThanOrEqual(from + every);
        expect(at).toBeLessThanOrEqual(from + every + Math.max(0, jitter - 1));
      }),
    );
    expect(nextRebuild(0, 0, 10)).toBeNull();
  });
});

describe('PostgreSQL helpers', () => {
  test('LSNs: format∘parse is the identity; order and distance follow the 64-bit position', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (a, b) => {
        expect(parseLsn(formatLsn(a))).toBe(a);
        expect(compareLsn(formatLsn(a), formatLsn(b))).toBe(a < b ? -1 : a > b ? 1 : 0);
        expect(lsnDistance(formatLsn(a), formatLsn(b))).toBe(b > a ? Number(b - a) : 0);
      }),
    );
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(() => parseLsn('16-B374')).toThrow();
  });

  test('timestamps as PostgreSQL prints them under ISO/UTC', () => {
    expect(parseTimestampMs('2024-05-01 10:00:00+00')).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseTimestampMs('2024-05-01 10:00:00.123456+02')).toBe(Date.UTC(2024, 4, 1, 8, 0, 0, 123));
    expect(parseTimestampMs('2024-05-01 10:00:00-05:30')).toBe(Date.UTC(2024, 4, 1, 15, 30));
    expect(parseTimestampMs('2024-05-01 10:00:00')).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseTimestampMs('2024-05-01')).toBe(Date.UTC(2024, 4, 1));
    expect(parseTimestampMs('infinity')).toBeNull();
    expect(parseTimestampMs('42')).toBeNull();
  });
});
