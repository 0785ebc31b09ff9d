import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { compareReplicas } from '../../src/aae/index.js';
import { defaultSpec, type ClusterSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster, type PutItem } from '../../src/coordinator/index.js';
import { isAaeError } from '../../src/errors.js';
import type { ExchangeLogLine } from '../../src/exchange/index.js';
import { openCluster } from '../../src/net/index.js';
import { clientDir, serveCluster, type ServedCluster } from '../support/served.js';
import { aae } from './helpers.js';

/**
 * `aae repair` of a served cluster with a node down (every node an `aae node serve` process; the
 * built CLI). A repair reads and writes every replica of the keys it repairs, so it cannot route
 * around a node as compare does. What it should do instead: leave out, and say so, the keyspaces
 * of its replica step that have a replica on the node; repair the rest; never call the result in
 * sync; and when a key it must repair has a replica there, fail once, in words, naming the node.
 * It used to fail in the replica step with one EX008 line per replica exchange on the node.
 */
let dir: string;
let served: ServedCluster | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-repair-down-'));
});
afterEach(async () => {
  await served?.stop();
  served = undefined;
  await rm(dir, { recursive: true, force: true });
});

const CLOCK = { entries: [['app', 1]] as Array<[string, number]>, lastModified: 1_700_000_000_000 };
const item = (i: number, replicas?: number): PutItem => ({ bucket: 'b', key: `k${i}`, value: `v${i}`, clock: CLOCK, ...(replicas === undefined ? {} : { replicas }) });
const DOWN = 'n4';

/**
 * dc1 (4 nodes, ring 16, nVal 3), served, with n4 killed; dr1 local. Both hold keys 0..199; dc1
 * also holds `partial` on its first replica only (a difference inside dc1, on keyspaces clear of
 * n4), and dr1 holds `extra` (a difference between the clusters).
 */
async function setUp(pick: { partial: 'clear'; extra: 'clear' | 'on-down-node' }): Promise<{ client: string; local: string; spec: ClusterSpec; partial: string; extra: string }> {
  const spec = defaultSpec('dc1', { treeSize: 'small', nodeCount: 4, ringSize: 16, nVal: 3 });
  const server = join(dir, 'dc1-server');
  const dc = await EmbeddedCluster.create(server, spec);
  const onDown = (i: number): boolean => dc.preflistOf('b', `k${i}`).some((v) => dc.owners[v] === DOWN);
  const find = (from: number, down: boolean): number => {
    for (let i = from; ; i++) if (onDown(i) === down) return i;
  };
  const partial = find(1000, false);
  const extra = find(2000, pick.extra === 'on-down-node');
  const base = Array.from({ length: 200 }, (_, i) => item(i));
  await dc.putMany([...base, item(partial, 1)]);
  await dc.close();
  const local = join(dir, 'dr1');
  const dr = await EmbeddedCluster.create(local, defaultSpec('dr1', { treeSize: 'small', nodeCount: 2, ringSize: 16, nVal: 2 }));
  await dr.putMany([...base, item(partial), item(extra)]);
  await dr.close();
  served = await serveCluster(server, spec);
  const client = await clientDir(join(dir, 'dc1'), spec, served.addresses);
  const victim = served.nodes.find((n) => n.name === DOWN)!;
  victim.process.kill('SIGKILL');
  await victim.exited;
  return { client, local, spec, partial: `k${partial}`, extra: `k${extra}` };
}

const ex008 = (stderr: string): number => stderr.split('\n').filter((l) => l.includes('"code":"EX008"')).length;

describe('aae repair with a served node down', () => {
  test('the replica step leaves out the keyspaces on the node and says so; the rest is repaired, and the result is not called in sync', async () => {
    const { client, local, extra } = await setUp({ partial: 'clear', extra: 'clear' });
    const r = await aae('repair', client, local, '--pause-ms', '0', '--json');
    expect(r.code, r.stderr).toBe(1);
    expect(ex008(r.stderr)).toBe(0);
    const json = r.json<{ inSync: boolean; replicas: Array<{ cluster: string; inSync: boolean; unreached?: { nodes: string[]; keyspaces: number }; totals: { writes: number } }> }>();
    expect(json.inSync).toBe(false);
    const dc1 = json.replicas.find((x) => x.cluster === 'dc1')!;
    // Ring 16, nVal 3: n4's 4 vnodes hold a replica of 3 keyspaces each, 12 in all (some shared).
    expect(dc1.unreached?.nodes).toEqual([DOWN]);
    expect(dc1.unreached!.keyspaces).toBeGreaterThan(0);
    expect(dc1.unreached!.keyspaces).toBeLessThan(16);
    expect(dc1.inSync).toBe(false);
    // The partial key, on keyspaces clear of n4, reached its two missing replicas.
    expect(dc1.totals.writes).toBe(2);
    // The key only dr1 held was copied to dc1, on replicas clear of n4.
    const got = await aae('get', client, 'b', extra, '--json');
    expect(got.code, got.stderr).toBe(0);

    const text = await aae('repair', client, local, '--pause-ms', '0');
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/not repaired: the replicas of \d+ keyspace\(s\) with a replica on node n4, which is down \(writes need every replica\)/);

    const inside = await aae('repair', client, '--pause-ms', '0', '--json');
    expect(inside.code, inside.stderr).toBe(1);
    expect(inside.json<{ unreached?: { nodes: string[] } }>().unreached?.nodes).toEqual([DOWN]);
  });

  test('a key to repair with a replica on the node: one failure, naming the node and saying a repair writes every replica', async () => {
    const { client, local } = await setUp({ partial: 'clear', extra: 'on-down-node' });
    const r = await aae('repair', client, local, '--pause-ms', '0');
    expect(r.code).toBe(3);
    expect(ex008(r.stderr)).toBe(0);
    const failures = r.stderr.split('\n').filter((l) => l.startsWith('aae: '));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/node n4 \(127\.0\.0\.1:\d+\) is unavailable: .*A repair reads and writes every replica of each key it repairs, so it cannot repair keys with a replica on node n4 until it is back.*\[NODE_UNAVAILABLE\]$/);
  });

  test('compareReplicas that cannot reach a node fails once: the other exchanges stop, and one EX008 line is logged, not one per pair', async () => {
    const { client } = await setUp({ partial: 'clear', extra: 'clear' });
    const c = await openCluster(client);
    try {
      const lines: ExchangeLogLine[] = [];
      const e = await compareReplicas(c, { pauseMs: 0, jitter: false, logger: (l) => lines.push(l) }).catch((err: unknown) => err);
      expect(isAaeError(e, 'NODE_UNAVAILABLE'), String(e)).toBe(true);
      expect((e as Error).message).toContain(DOWN);
      // Exchanges left running after the answer would go on failing (and logging) for a while.
      await new Promise((r) => setTimeout(r, 2000));
      expect(lines.filter((l) => l.code === 'EX008')).toHaveLength(1);
    } finally {
      await c.close();
    }
  });
});
