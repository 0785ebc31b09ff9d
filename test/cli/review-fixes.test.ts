import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { PutItem } from '../../src/coordinator/index.js';
import { aae, withTempDir } from './helpers.js';

/** Behaviours a fresh-eyes review of the CLI found wanting, pinned so they stay fixed. */
describe('CLI edge cases', () => {
  test('cluster create: safe defaults, flag errors in the flag\'s own words, no endless mkdir', () =>
    withTempDir(async (tmp) => {
      const made = await aae('cluster', 'create', join(tmp, 'c'), '--json');
      expect(made.code).toBe(0);
      expect(made.json()).toMatchObject({ spec: { nodes: ['n1', 'n2', 'n3', 'n4'], ringSize: 64, nVal: 3 }, claim: { safe: true } });
      expect(made.stderr).toBe('');

      const ring = await aae('cluster', 'create', join(tmp, 'r'), '--ring-size', '100');
      expect(ring.code).toBe(2);
      expect(ring.stderr).toContain('--ring-size must be a power of two');
      expect((await aae('cluster', 'create', '')).code).toBe(2);
      expect((await aae('cluster', 'create', join(tmp, 'n'), '--name', ' ')).code).toBe(2);
      // Under /proc, Node's recursive mkdir spun forever; now it fails at once.
      const proc = await aae('cluster', 'create', '/proc/aae-test-nope/x');
      expect(proc.code).toBe(3);
      expect(proc.stderr).toContain('STORE_IO');
    }));

  test('load: a byte-order mark opening the file is accepted; a missing file says so', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'c');
      await aae('cluster', 'create', dir, '--ring-size', '8', '--tree-size', 'xsmall');
      const bom = join(tmp, 'bom.jsonl');
      await writeFile(bom, '\ufeff{"bucket":"b","key":"k","value":"v"}\r\n{"bucket":"b","key":"k2","value":"v"}\r\n');
      const r = await aae('load', dir, bom, '--json');
      expect(r.code).toBe(0);
      expect(r.json()).toMatchObject({ written: 2 });
      const missing = await aae('load', dir, join(tmp, 'nope.jsonl'));
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no such file');
    }));

  test('demo --keep refuses an existing directory before doing anything', () =>
    withTempDir(async (tmp) => {
      const existing = join(tmp, 'demo');
      await mkdir(existing);
      const r = await aae('demo', '--keep', existing);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('the directory exists');
    }));

  test('fold: a module path that does not exist is a usage error naming the file', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'c');
      await aae('cluster', 'create', dir, '--ring-size', '8', '--tree-size', 'xsmall');
      const r = await aae('fold', dir, './no-such-module.js');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no fold module file at');
    }));
});

describe('interrupting a load', () => {
  test('says how much was written, or that nothing was', () =>
    withTempDir(async (tmp) => {
      const { runCli } = await import('../../src/cli/program.js');
      const dir = join(tmp, 'c');
      await aae('cluster', 'create', dir, '--ring-size', '8', '--tree-size', 'xsmall');
      const file = join(tmp, 'data.jsonl');
      await writeFile(file, Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ bucket: 'b', key: `k${i}`, value: 'v', clock: [['a', 1]] })).join('\n'));
      const run = async (signal: AbortSignal) => {
        let stderr = '';
        const code = await runCli(['load', dir, file], { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, signal });
        return { code, stderr };
      };
      const before = new AbortController();
      before.abort();
      const early = await run(before.signal);
      expect(early.code).toBe(3);
      expect(early.stderr).toContain('before anything from');

      // Interrupt once the first batch has landed.
      const during = new AbortController();
      const { EmbeddedCluster } = await import('../../src/coordinator/index.js');
      const orig = EmbeddedCluster.prototype.putMany;
      EmbeddedCluster.prototype.putMany = function (items, options = {}) {
        return orig.call(this, items, { ...options, onProgress: (p) => { options.onProgress?.(p); during.abort(); } });
      };
      let reported = -1;
      try {
        const mid = await run(during.signal);
        expect(mid.code).toBe(3);
        // The batch queued behind the first (the load pipelines) lands too: the count says so.
        const m = /interrupted: (\d+) of 20000 objects were written and stay written/.exec(mid.stderr);
        expect(m).not.toBeNull();
        reported = Number(m![1]);
        expect([5000, 10000]).toContain(reported);
      } finally {
        EmbeddedCluster.prototype.putMany = orig;
      }
      const count = await aae('fold', dir, 'object_stats', '--json');
      expect(count.json<{ result: { count: number } }>().result.count).toBe(reported);
    }));
});

describe('a load failing after it began writing', () => {
  test('keeps its error code and says how many objects were written, which is what is stored', () =>
    withTempDir(async (tmp) => {
      const { runCli } = await import('../../src/cli/program.js');
      const { AaeError } = await import('../../src/errors.js');
      const dir = join(tmp, 'c');
      await aae('cluster', 'create', dir, '--ring-size', '8', '--tree-size', 'xsmall');
      const file = join(tmp, 'data.jsonl');
      await writeFile(file, Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ bucket: 'b', key: `k${i}`, value: 'v', clock: [['a', 1]] })).join('\n'));
      // The store fails once the items of the first two batches have been handed over.
      const { EmbeddedCluster } = await import('../../src/coordinator/index.js');
      const orig = EmbeddedCluster.prototype.putMany;
      EmbeddedCluster.prototype.putMany = function (items, options = {}) {
        async function* failing() {
          let n = 0;
          for await (const it of items as AsyncIterable<PutItem>) {
            if (++n > 10_000) throw new AaeError('STORE_IO', 'disk full');
            yield it;
          }
        }
        return orig.call(this, failing(), options);
      };
      let stderr = '';
      try {
        const code = await runCli(['load', dir, file], { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } });
        expect(code).toBe(3);
      } finally {
        EmbeddedCluster.prototype.putMany = orig;
      }
      expect(stderr).toContain('disk full');
      expect(stderr).toContain('[STORE_IO]');
      const m = /(\d+) of 20000 objects were written before this and stay written/.exec(stderr);
      expect(m).not.toBeNull();
      const count = await aae('fold', dir, 'object_stats', '--json');
      expect(count.json<{ result: { count: number } }>().result.count).toBe(Number(m![1]));
      expect(Number(m![1])).toBe(10_000);
    }));
});
