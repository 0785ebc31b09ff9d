import fc from 'fast-check';
import { expect, test } from 'vitest';
import { CopyTextParser } from '../../src/connect/pg/copy-text.js';

/** The COPY text reader: whatever the chunking, it gives back the fields COPY TO escaped. */

const enc = new TextEncoder();

/** COPY TO's text escaping of one field (null is \N). */
function escape(v: string | null): string {
  if (v === null) return '\\N';
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t').replace(/\x08/g, '\\b').replace(/\f/g, '\\f').replace(/\v/g, '\\v');
}

test('law: parse(chunks of escape(rows)) = rows, for any chunking', () => {
  const field = fc.option(fc.string({ unit: fc.constantFrom('a', 'ü', '\\', '\t', '\n', '\r', '\b', '\f', '\v', 'N', ' ', '✓') }), { nil: null });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }).chain((w) => fc.tuple(fc.constant(w), fc.array(fc.array(field, { minLength: w, maxLength: w }), { maxLength: 8 }))), fc.array(fc.nat(), { maxLength: 6 }), ([w, rows], cuts) => {
      const bytes = enc.encode(rows.map((r) => `${r.map(escape).join('\t')}\n`).join(''));
      const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
      const parser = new CopyTextParser(w);
      const got: Array<Array<string | null>> = [];
      let last = 0;
      for (const p of [...points, bytes.length]) {
        for (const r of parser.push(bytes.subarray(last, p))) got.push(r.map((f) => (f === null ? null : new TextDecoder().decode(f))));
        last = p;
      }
      parser.end();
      expect(got).toEqual(rows);
    }),
  );
});

test('octal and hex escapes (COPY FROM syntax) decode too; a short row is an error', () => {
  const p = new CopyTextParser(2);
  expect(p.push(enc.encode('\\101\\x42\t\\\\N\n')).map((r) => r.map((f) => (f === null ? null : new TextDecoder().decode(f))))).toEqual([['AB', '\\N']]);
  expect(() => new CopyTextParser(2).push(enc.encode('only-one\n'))).toThrow(/1 fields, expected 2/);
  const partial = new CopyTextParser(1);
  partial.push(enc.encode('no newline'));
  expect(() => partial.end()).toThrow(/inside a row/);
});
