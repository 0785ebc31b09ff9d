import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compareClusters } from '../../src/aae/index.js';
import { readClusterSpec } from '../../src/cluster/index.js';
import { isAaeError } from '../../src/errors.js';
import { tombstoneHash } from '../../src/hash/index.js';
import { loadFile } from '../../src/cli/load-file.js';
import { decodeHead } from '../../src/store/codec.js';
import { KIND_HEAD, META_FORMAT_KEY, kindPrefix, prefixEnd } from '../../src/store/layout.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { treeFromScratch } from './helpers.js';
import { withTempDir } from '../cli/helpers.js';

/**
 * Stores written under layout 1 (fixtures/store-v1: real stores written before hash format 2,
 * with saved trees) are migrated when opened: tombstone heads get their format-2 hash, saved trees
 * are dropped and rebuilt, and the cluster then compares equal with one loaded from the same file
 * today. Without the migration its tombstones would differ from every current cluster's.
 */
const FIXTURES = new URL('../../fixtures/store-v1/', import.meta.url).pathname;
const fast = { pauseMs: 0, jitter: false } as const;

async function copyOf(method: 'clock' | 'value', tmp: string): Promise<string> {
  const dir = join(tmp, `v1-${method}`);
  await cp(join(FIXTURES, method), dir, { recursive: true });
  return dir;
}

async function tombstoneHeads(c: EmbeddedCluster): Promise<Array<{ hash: number; entries: ReadonlyArray<readonly [string, number]> }>> {
  const out = [];
  for (const v of c.vnodes()) {
    const prefix = kindPrefix(v.id, KIND_HEAD);
    const it = c.nodeDb(v.node).iterator({ gte: prefix, lt: prefixEnd(prefix) });
    try {
      for (let e = await it.next(); e !== undefined; e = await it.next()) {
        const h = decodeHead(e[1]);
        if (h.deleted) out.push({ hash: h.hash, entries: h.clock.entries });
      }
    } finally {
      await it.close();
    }
  }
  return out;
}

describe('stores of layout 1', () => {
  test.each(['clock', 'value'] as const)('hash method %s: migrated at open, trees rebuilt, and equal to a cluster loaded today', (method) =>
    withTempDir(async (tmp) => {
      const dir = await copyOf(method, tmp);
      const c = await EmbeddedCluster.open(dir);
      try {
        expect(c.nodeDb('n1').format).toBe(2);
        expect([...(await c.nodeDb('n1').get(META_FORMAT_KEY))!]).toEqual([2]);
        const tombs = await tombstoneHeads(c);
        expect(tombs).toHaveLength(4);
        for (const t of tombs) expect(t.hash).toBe(tombstoneHash(method, 42, t.entries));
        // The saved trees (of the old hashes) are gone: every tree is rebuilt from the heads.
        for (const v of c.vnodes()) {
          await v.loadTrees();
          for (const s of v.treeStates()) expect(s.origin).not.toBe('restored');
          for (const n of v.indexNs) expect((await v.fetchTree(n)).equals(await treeFromScratch(v, n, c.spec))).toBe(true);
        }
        const today = await EmbeddedCluster.create(join(tmp, 'today'), { ...(await readClusterSpec(dir)), name: 'today' });
        try {
          await loadFile(today, join(FIXTURES, 'data.jsonl'));
          const r = await compareClusters(c, today, fast);
          expect(r.differences).toEqual([]);
          expect(r.inSync).toBe(true);
        } finally {
          await today.close();
        }
      } finally {
        await c.close();
      }
    }),
  );

  test('a migration cut short runs again at the next open, and running it again changes nothing', () =>
    withTempDir(async (tmp) => {
      const dir = await copyOf('clock', tmp);
      let c = await EmbeddedCluster.open(dir);
      const before = await tombstoneHeads(c);
      // As if the process died after rewriting the heads but before recording layout 2.
      await c.nodeDb('n1').batch([{ type: 'put', key: META_FORMAT_KEY, value: Uint8Array.of(1) }], { sync: true });
      await c.close();
      c = await EmbeddedCluster.open(dir);
      try {
        expect(c.nodeDb('n1').format).toBe(2);
        expect(await tombstoneHeads(c)).toEqual(before);
      } finally {
        await c.close();
      }
    }));

  test('a store of a later layout is refused with STORE_IO that says so', () =>
    withTempDir(async (tmp) => {
      const dir = await copyOf('clock', tmp);
      const c = await EmbeddedCluster.open(dir);
      await c.nodeDb('n1').batch([{ type: 'put', key: META_FORMAT_KEY, value: Uint8Array.of(9) }], { sync: true });
      await c.close();
      const e = await EmbeddedCluster.open(dir).then(
        async (x) => {
          await x.close();
          return undefined;
        },
        (err: unknown) => err,
      );
      expect(isAaeError(e, 'STORE_IO')).toBe(true);
      expect(String((e as Error).message)).toContain('newer aae');
    }));
});
