import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { initHash, objectHashOfClock, objectHashOfValue, utf8 } from '../../src/hash/index.js';
import { makeClock } from '../../src/cluster/clock.js';
import {
  headOf,
  keyFromJson,
  keyToBytes,
  keyToJson,
  normaliseIndexes,
  validateObjectKey,
  valueFromJson,
  valueToJson,
  type AaeObject,
} from '../../src/cluster/object.js';
import { codeOf } from '../support/errors.js';

beforeAll(async () => {
  await initHash();
});

describe('keys and values as JSON', () => {
  test('every byte string round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(keyFromJson(JSON.parse(JSON.stringify(keyToJson(bytes))))).toEqual(bytes);
        expect(valueFromJson(JSON.parse(JSON.stringify(valueToJson(bytes))))).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  test('valid UTF-8 is shown as text, anything else as base64', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(keyToJson(utf8(s))).toBe(s);
      }),
      { numRuns: 200 },
    );
    expect(keyToJson(new Uint8Array([0xff, 0x00]))).toEqual({ base64: '/wA=' });
    expect(keyToJson(new Uint8Array([0xed, 0xa0, 0x80]))).toEqual({ base64: '7aCA' }); // an encoded surrogate is not UTF-8
    expect(valueToJson(new Uint8Array(0))).toBe('');
  });

  test('a leading BOM is kept, not stripped', () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x61]);
    expect(keyToJson(bom)).toBe('\uFEFFa');
    expect(keyFromJson(keyToJson(bom))).toEqual(bom);
  });

  test('a view into a larger buffer encodes only its own bytes', () => {
    const big = new Uint8Array([1, 0xff, 0xfe, 2]);
    expect(keyToJson(big.subarray(1, 3))).toEqual({ base64: '//4=' });
  });

  test('malformed JSON keys are KEY_INVALID, values INVALID_ARGUMENT', () => {
    for (const bad of [42, null, [], {}, { base64: 1 }, { base64: 'abc' }, { base64: 'a=bc' }, { base64: '', x: 1 }, '\uD800']) {
      expect(codeOf(() => keyFromJson(bad)), JSON.stringify(bad)).toBe('KEY_INVALID');
      expect(codeOf(() => valueFromJson(bad)), JSON.stringify(bad)).toBe('INVALID_ARGUMENT');
    }
    expect(keyFromJson({ base64: '' })).toEqual(new Uint8Array(0));
  });

  test('keyToBytes: strings are UTF-8, bytes pass through', () => {
    expect(keyToBytes('é')).toEqual(new Uint8Array([0xc3, 0xa9]));
    const b = new Uint8Array([9]);
    expect(keyToBytes(b)).toBe(b);
    expect(codeOf(() => keyToBytes('\uDC00'))).toBe('KEY_INVALID');
  });
});

describe('validation', () => {
  test('validateObjectKey checks the bucket as src/hash does', () => {
    expect(() => validateObjectKey({ bucket: 'b', key: new Uint8Array(0) })).not.toThrow();
    expect(codeOf(() => validateObjectKey({ bucket: '', key: new Uint8Array(1) }))).toBe('KEY_INVALID');
    expect(codeOf(() => validateObjectKey({ bucket: 'a\0b', key: new Uint8Array(1) }))).toBe('KEY_INVALID');
    expect(codeOf(() => validateObjectKey({ bucket: 'b', key: 'k' as unknown as Uint8Array }))).toBe('KEY_INVALID');
  });

  test('normaliseIndexes sorts by name then term (UTF-8 order) and drops duplicates', () => {
    expect(
      normaliseIndexes([
        ['name_bin', 'zed'],
        ['age_int', '42'],
        ['name_bin', 'amy'],
        ['age_int', '42'],
        ['😀', 'x'],
        ['\uFFFD', 'x'],
      ]),
    ).toEqual([
      ['age_int', '42'],
      ['name_bin', 'amy'],
      ['name_bin', 'zed'],
      ['\uFFFD', 'x'],
      ['😀', 'x'],
    ]);
    expect(normaliseIndexes([['i', '']])).toEqual([['i', '']]); // an empty term is allowed
  });

  test('bad index entries are KEY_INVALID', () => {
    expect(codeOf(() => normaliseIndexes([['', 't']]))).toBe('KEY_INVALID');
    expect(codeOf(() => normaliseIndexes([['i\0', 't']]))).toBe('KEY_INVALID');
    expect(codeOf(() => normaliseIndexes([['i', 't\0']]))).toBe('KEY_INVALID');
    expect(codeOf(() => normaliseIndexes([['i', 5 as unknown as string]]))).toBe('KEY_INVALID');
  });
});

describe('headOf', () => {
  const obj: AaeObject = {
    bucket: 'b',
    key: utf8('k'),
    clock: makeClock([['n1', 2]], 1000),
    value: utf8('hello'),
    deleted: false,
    indexes: [['i', 't']],
  };

  test('is the object without its value, plus size and the hash by method and seed', () => {
    const h = headOf(obj, 'clock', 7);
    expect(h).toEqual({
      bucket: 'b',
      key: obj.key,
      clock: obj.clock,
      deleted: false,
      size: 5,
      hash: objectHashOfClock(obj.clock.entries, 7),
      indexes: obj.indexes,
    });
    expect('value' in h).toBe(false);
    expect(headOf(obj, 'value', 7).hash).toBe(objectHashOfValue(obj.value, 7));
    expect(headOf(obj, 'clock', 8).hash).not.toBe(h.hash);
  });
});
