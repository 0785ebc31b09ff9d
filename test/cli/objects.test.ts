import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { aae, withTempDir } from './helpers.js';

const SAMPLE = new URL('../../fixtures/sample.jsonl', import.meta.url).pathname;

describe('aae cluster create / load / put / get / delete', () => {
  test('create, load the sample, read objects back', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'dc1');
      const created = await aae('cluster', 'create', dir, '--nodes', '3', '--ring-size', '16', '--n-val', '3', '--tree-size', 'small', '--json');
      expect(created.code).toBe(0);
      expect(created.json<{ spec: { ringSize: number; nodes: string[] } }>().spec).toMatchObject({ ringSize: 16, nodes: ['n1', 'n2', 'n3'] });
      expect((await readdir(dir)).sort()).toEqual(['cluster.json', 'n1', 'n2', 'n3']);

      const loaded = await aae('load', dir, SAMPLE, '--json');
      expect(loaded.code).toBe(0);
      expect(loaded.json()).toMatchObject({ lines: 3500, written: 3500 });

      const got = await aae('get', dir, 'users', 'user-00000', '--json');
      expect(got.code).toBe(0);
      expect(got.json()).toEqual({
        bucket: 'users',
        key: 'user-00000',
        value: '{"name":"user 0","city":"Bergen","score":286}',
        clock: [['primary', 4]],
        lastModified: 1767225600000,
        deleted: false,
        indexes: [['city_bin', 'Bergen'], ['score_int', '010']],
      });

      const bin = await aae('get', dir, 'blobs', '/wAAAIA=', '--key-base64', '--json');
      expect(bin.code).toBe(0);
      expect(bin.json<{ key: unknown; value: unknown }>().key).toEqual({ base64: '/wAAAIA=' });

      const missing = await aae('get', dir, 'users', 'nobody', '--json');
      expect(missing.code).toBe(1);
      expect(missing.json()).toBeNull();
    }));

  test('put makes new versions; delete leaves a tombstone that get reports with exit 1', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'c');
      expect((await aae('cluster', 'create', dir, '--name', 'east', '--ring-size', '8', '--tree-size', 'xsmall')).code).toBe(0);
      const first = await aae('put', dir, 'b', 'k', 'v1', '--index', 'i=t', '--json');
      expect(first.code).toBe(0);
      expect(first.json<{ clock: unknown }>().clock).toEqual([['east', 1]]);
      const second = await aae('put', dir, 'b', 'k', 'v2', '--json');
      expect(second.json<{ clock: unknown }>().clock).toEqual([['east', 2]]);

      const text = await aae('get', dir, 'b', 'k');
      expect(text.code).toBe(0);
      expect(text.stdout).toBe('v2\n');

      expect((await aae('delete', dir, 'b', 'k')).code).toBe(0);
      const gone = await aae('get', dir, 'b', 'k', '--json');
      expect(gone.code).toBe(1);
      expect(gone.json()).toMatchObject({ deleted: true, value: null, clock: [['east', 3]] });
    }));

  test('a malformed load file writes nothing, exits 2 and names the bad lines', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'c');
      await aae('cluster', 'create', dir, '--ring-size', '8', '--tree-size', 'xsmall');
      const file = join(tmp, 'bad.jsonl');
      await writeFile(
        file,
        ['{"bucket":"b","key":"ok1","value":"x"}', '{"bucket":"b","key":"bad","vaule":"x"}', '', '{"bucket":"b","key":"ok2"}', 'not json'].join('\n'),
      );
      const r = await aae('load', dir, file);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('LOAD_INVALID');
      expect(r.stderr).toContain('line 2:');
      expect(r.stderr).toContain('line 5:');
      expect(r.stderr).not.toContain('line 4:');
      expect((await aae('get', dir, 'b', 'ok1')).code).toBe(1);
    }));

  test('--replicas 1 writes only the first replica', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'c');
      await aae('cluster', 'create', dir, '--nodes', '4', '--ring-size', '8', '--tree-size', 'xsmall');
      const file = join(tmp, 'one.jsonl');
      await writeFile(file, '{"bucket":"b","key":"k","value":"x","clock":[["a",1]]}\n');
      expect((await aae('load', dir, file, '--replicas', '1')).code).toBe(0);
      const { EmbeddedCluster } = await import('../../src/coordinator/index.js');
      const c = await EmbeddedCluster.open(dir);
      try {
        const replicas = await c.getReplicas('b', 'k');
        expect(replicas.map((r) => r.object !== null)).toEqual([true, false, false]);
      } finally {
        await c.close();
      }
    }));

  test('bad usage and bad input exit 2 with a coded message', () =>
    withTempDir(async (tmp) => {
      const dir = join(tmp, 'c');
      expect((await aae('cluster', 'create', dir, '--ring-size', '8')).code).toBe(0);
      const again = await aae('cluster', 'create', dir);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('CLUSTER_EXISTS');
      const notThere = await aae('get', join(tmp, 'nope'), 'b', 'k');
      expect(notThere.code).toBe(2);
      expect(notThere.stderr).toContain('CLUSTER_NOT_FOUND');
      expect((await aae('cluster', 'create', join(tmp, 'x'), '--ring-size', '12')).code).toBe(2);
      expect((await aae('cluster', 'create', join(tmp, 'x'), '--tree-size', 'huge')).code).toBe(2);
      expect((await aae('get', dir, 'b')).code).toBe(2);
      expect((await aae('put', dir, 'b', 'k', 'v', '--bogus')).code).toBe(2);
      expect((await aae('put', dir, 'b', 'k', 'v', '--index', 'noequals')).code).toBe(2);
      expect((await aae('load', dir, join(tmp, 'missing.jsonl'))).code).toBe(2);
    }));
});
