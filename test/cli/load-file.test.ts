import fc from 'fast-check';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { loadFile, validateLoadFile } from '../../src/cli/load-file.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { aroundBatchWrites } from '../store/helpers.js';
import { withTempDir } from './helpers.js';

/**
 * The load file's lines: split on LF (CRLF too), decoded as strict UTF-8, lines of any length
 * across the reader's 64 KiB chunks, a byte-order mark at the start ignored, blank lines skipped.
 */

const spec = defaultSpec('lf', { ringSize: 8, nVal: 1, nodeCount: 1, treeSize: 'xxsmall' });

test('law: whatever the line endings, lengths and text, every line loads with its exact value', () =>
  withTempDir(async (tmp) => {
    let run = 0;
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 60_000, max: 140_000 }).map((n) => 'é'.repeat(n)));
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.boolean(), async (values, eol, bom, trailing) => {
        const file = join(tmp, `f${run}.jsonl`);
        const lines = values.map((v, i) => JSON.stringify({ bucket: 'b', key: `k${i}`, value: v }));
        await writeFile(file, (bom ? '\ufeff' : '') + lines.join(eol + (run % 2 === 0 ? eol : '')) + (trailing ? eol : ''));
        const cluster = await EmbeddedCluster.create(join(tmp, `c${run++}`), spec);
        try {
          expect(await loadFile(cluster, file)).toMatchObject({ lines: values.length, written: values.length });
          for (let i = 0; i < values.length; i++) {
            expect(new TextDecoder().decode((await cluster.get('b', `k${i}`))!.value)).toBe(values[i]);
          }
        } finally {
          await cluster.close();
        }
      }),
      { numRuns: 12 },
    );
  }));

test('a line that is not UTF-8 is LOAD_INVALID by its number, and nothing is written', () =>
  withTempDir(async (tmp) => {
    const file = join(tmp, 'latin1.jsonl');
    // Line 2 is Latin-1 ("café" with é as the single byte 0xe9): a lenient decoder would store U+FFFD.
    await writeFile(file, Buffer.concat([Buffer.from('{"bucket":"b","key":"ok","value":"v"}\n'), Buffer.from('{"bucket":"b","key":"caf\xe9","value":"v"}\n', 'latin1')]));
    await expect(validateLoadFile(file)).rejects.toMatchObject({ code: 'LOAD_INVALID', details: { badLines: [2] } });
    const cluster = await EmbeddedCluster.create(join(tmp, 'c'), spec);
    try {
      await expect(loadFile(cluster, file)).rejects.toMatchObject({ code: 'LOAD_INVALID' });
      expect(await cluster.get('b', 'ok')).toBeNull();
    } finally {
      await cluster.close();
    }
  }));

test('a load that fails part way says up to which file line every object landed (blank lines counted)', () =>
  withTempDir(async (tmp) => {
    const file = join(tmp, 'big.jsonl');
    // 12,000 objects, a blank line after every 1,000th: file line numbers run ahead of object counts.
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i++) {
      lines.push(JSON.stringify({ bucket: 'b', key: `k${i}`, value: 'v', clock: [['a', 1]] }));
      if (i % 1000 === 999) lines.push('');
    }
    await writeFile(file, lines.join('\n'));
    const cluster = await EmbeddedCluster.create(join(tmp, 'c'), spec);
    try {
      // Writes fail from the first one after a batch has landed, once.
      let landed = false;
      let failed = false;
      aroundBatchWrites(cluster, async (write, discard) => {
        if (landed && !failed) {
          failed = true;
          await discard();
          throw new Error('disk full');
        }
        await write();
      });
      let through = 0;
      await expect(
        loadFile(cluster, file, {
          onProgress: (p) => {
            if (p.phase !== 'write') return;
            landed = true;
            through = p.through ?? 0;
          },
        }),
      ).rejects.toThrow('disk full');
      // Cluster batches are 5,000 objects: the prefix that landed ends on a batch's last object,
      // whose file line is its number plus the blank lines before it.
      const m = /"k(\d+)"/.exec(lines[through - 1]!);
      expect(m).not.toBeNull();
      const last = Number(m![1]);
      expect((last + 1) % 5000).toBe(0);
      expect(through).toBe(last + 1 + Math.floor(last / 1000));
      for (let i = 0; i <= last; i += 97) expect(await cluster.get('b', `k${i}`), `k${i}`).not.toBeNull();
    } finally {
      await cluster.close();
    }
  }));
