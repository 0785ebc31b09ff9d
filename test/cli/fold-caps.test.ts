import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { aae, withTempDir } from './helpers.js';

describe('aae fold: a cap truncates and says so', () => {
  test('find_tombs with maxResults 5 returns five tombstones marked truncated (exit 0), the first in key order; the full list agrees', () =>
    withTempDir(async (tmp) => {
      const c = join(tmp, 'c');
      expect((await aae('cluster', 'create', c, '--nodes', '2', '--ring-size', '8', '--n-val', '2', '--tree-size', 'small')).code).toBe(0);
      expect((await aae('load', c, join(import.meta.dirname, '../../fixtures/sample.jsonl'), '--quiet')).code).toBe(0);
      const all = await aae('fold', c, 'find_tombs', '--json', '--quiet');
      expect(all.code).toBe(0);
      const everything = all.json<{ result: { count: number; truncated: boolean; keys: Array<{ key: string }> } }>().result;
      expect(everything.truncated).toBe(false);
      expect(everything.count).toBeGreaterThan(5);

      const five = await aae('fold', c, 'find_tombs', '--query', '{"maxResults": 5}', '--json', '--quiet');
      expect(five.code).toBe(0);
      const r = five.json<{ result: { count: number; truncated: boolean; maxResults: number; keys: Array<{ key: string }> } }>().result;
      expect(r).toMatchObject({ count: 5, truncated: true, maxResults: 5 });
      expect(r.keys).toEqual(everything.keys.slice(0, 5));

      const table = await aae('fold', c, 'find_tombs', '--query', '{"maxResults": 5}', '--quiet');
      expect(table.code).toBe(0);
      expect(table.stdout).toContain('truncated: the first 5 in key order are shown, and more match (raise maxResults in --query');
      // The fold's progress, on a non-TTY stderr: records with the vnodes done.
      const progress = await aae('fold', c, 'object_stats', '--json');
      const last = JSON.parse(progress.stderr.trim().split('\n').at(-1)!) as Record<string, unknown>;
      expect(last).toMatchObject({ code: 'PR002', task: 'fold object_stats', unit: 'vnodes', done: last.total });
    }));
});
