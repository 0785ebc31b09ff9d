import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseLoadRecord } from '../../src/cluster/load-record.js';
import { keyToJson, valueToJson } from '../../src/cluster/object.js';
import { codeOf } from '../support/errors.js';


describe('parseLoadRecord', () => {
  test('a full record', () => {
    const r = parseLoadRecord(
      JSON.stringify({ bucket: 'u', key: 'k1', value: 'hi', clock: [['b', 2], ['a', 1]], lastModified: 5, indexes: [['z', '1'], ['a', '2']] }),
    );
    expect(r.bucket).toBe('u');
    expect(Buffer.from(r.key).toString()).toBe('k1');
    expect(Buffer.from(r.value).toString()).toBe('hi');
    expect(r.clock).toEqual({ entries: [['a', 1], ['b', 2]], lastModified: 5 });
    expect(r.indexes).toEqual([['a', '2'], ['z', '1']]);
    expect(r.deleted).toBe(false);
  });

  test('binary keys and values, tombstones, records without clocks', () => {
    const r = parseLoadRecord('{"bucket":"b","key":{"base64":"/wA="},"base64":"AAEC"}');
    expect([...r.key]).toEqual([0xff, 0]);
    expect([...r.value]).toEqual([0, 1, 2]);
    expect(r.clock).toBeUndefined();
    const t = parseLoadRecord('{"bucket":"b","key":"gone","deleted":true,"clock":[["a",3]]}');
    expect(t.deleted).toBe(true);
    expect(t.value.byteLength).toBe(0);
  });

  test('keys and values round-trip through their JSON form', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 }), (key, value) => {
        const v = valueToJson(value);
        const line = JSON.stringify({ bucket: 'b', key: keyToJson(key), ...(typeof v === 'string' ? { value: v } : { base64: v.base64 }) });
        const r = parseLoadRecord(line);
        expect(Buffer.from(r.key).equals(Buffer.from(key))).toBe(true);
        expect(Buffer.from(r.value).equals(Buffer.from(value))).toBe(true);
      }),
    );
  });

  test.each([
    ['not json', '{'],
    ['not an object', '[1]'],
    ['unknown field', '{"bucket":"b","key":"k","vaule":"x"}'],
    ['missing bucket', '{"key":"k"}'],
    ['empty bucket', '{"bucket":"","key":"k"}'],
    ['missing key', '{"bucket":"b"}'],
    ['value and base64', '{"bucket":"b","key":"k","value":"x","base64":"AA=="}'],
    ['bad base64', '{"bucket":"b","key":"k","base64":"!!"}'],
    ['numeric value', '{"bucket":"b","key":"k","value":3}'],
    ['tombstone with value', '{"bucket":"b","key":"k","value":"x","deleted":true}'],
    ['bad clock', '{"bucket":"b","key":"k","clock":[["a",-1]]}'],
    ['duplicate actor', '{"bucket":"b","key":"k","clock":[["a",1],["a",2]]}'],
    ['all-zero clock', '{"bucket":"b","key":"k","clock":[["a",0]]}'],
    ['clock not a list', '{"bucket":"b","key":"k","clock":{"a":1}}'],
    ['bad lastModified', '{"bucket":"b","key":"k","lastModified":-5}'],
    ['lastModified a Date cannot hold', '{"bucket":"b","key":"k","clock":[["a",1]],"lastModified":8640000000000001}'],
    ['bad indexes', '{"bucket":"b","key":"k","indexes":[["a"]]}'],
    ['deleted not boolean', '{"bucket":"b","key":"k","deleted":"yes"}'],
  ])('refuses %s with LOAD_INVALID', (_name, line) => {
    expect(codeOf(() => parseLoadRecord(line))).toBe('LOAD_INVALID');
  });

  test('every line of the sample fixture parses', () => {
    const lines = readFileSync(new URL('../../fixtures/sample.jsonl', import.meta.url), 'utf8').trim().split('\n');
    expect(lines.length).toBe(3500);
    const parsed = lines.map(parseLoadRecord);
    expect(parsed.filter((r) => r.deleted).length).toBeGreaterThan(100);
    expect(new Set(parsed.map((r) => r.bucket))).toEqual(new Set(['users', 'documents', 'blobs', 'sessions']));
  });
});
