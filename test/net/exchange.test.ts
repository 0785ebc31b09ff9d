import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { compareClusters } from '../../src/aae/index.js';
import { claim, defaultSpec, type ClusterSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster, type Cluster, type PutItem } from '../../src/coordinator/index.js';
import { isAaeError } from '../../src/errors.js';
import { openCluster } from '../../src/net/index.js';
import { plan } from '../../src/plan/index.js';
import { aae } from '../cli/helpers.js';
import { clientDir, serveCluster, type ServedCluster } from '../support/served.js';

/**
 * Compare, repair and sync between a served cluster (every node an `aae node serve` process) and
 * a local one, through the CLI as an operator runs it, with the planted differences found exactly;
 * then a node killed in the middle of an exchange.
 */
let dir: string;
let served: ServedCluster | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-net-x-'));
});
afterEach(async () => {
  await served?.stop();
  served = undefined;
  await rm(dir, { recursive: true, force: true });
});

const BASE = { entries: [['app', 1]] as Array<[string, number]>, lastModified: 1_700_000_000_000 };
const base = (i: number): PutItem => ({ bucket: `b${i % 3}`, key: `k${i}`, value: `v${i}`, clock: BASE });

/** A served cluster (3 processes) and its bare client directory. */
async function servedCluster(name: string, overrides: Parameters<typeof defaultSpec>[1]): Promise<{ spec: ClusterSpec; client: string }> {
  const spec = defaultSpec(name, { treeSize: 'small', ...overrides });
  await (await EmbeddedCluster.create(join(dir, `${name}-server`), spec)).close();
  served = await serveCluster(join(dir, `${name}-server`), spec);
  return { spec, client: await clientDir(join(dir, name), spec, served.addresses) };
}

async function withOpen<T>(client: string, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await openCluster(client);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** Loads 200 keys into both, then plants differences; returns the planted keys and who is ahead. */
async function drift(client: string, local: string): Promise<Map<string, string>> {
  const expected = new Map<string, string>();
  await withOpen(client, async (dc) => {
    const dr = await EmbeddedCluster.open(local);
    try {
      const items = Array.from({ length: 200 }, (_, i) => base(i));
      await dc.putMany(items);
      await dr.putMany(items);
      for (let i = 200; i < 205; i++) {
        await dc.put(base(i)); // missing on the sink
        expected.set(`b${i % 3}/k${i}`, 'source');
      }
      for (let i = 205; i < 208; i++) {
        await dr.put(base(i)); // missing on the source
        expected.set(`b${i % 3}/k${i}`, 'sink');
      }
      for (const i of [3, 50, 99]) {
        await dc.put({ ...base(i), value: 'newer', clock: { entries: [['app', 1], ['dc', 1]], lastModified: BASE.lastModified + 1 } });
        expected.set(`b${i % 3}/k${i}`, 'source');
      }
      await dr.delete('b1', 'k100', { clock: { entries: [['app', 1], ['dr', 1]], lastModified: BASE.lastModified + 2 } });
      expected.set('b1/k100', 'sink');
    } finally {
      await dr.close();
    }
  });
  return expected;
}

/** compare --json's differences, by key: which side is ahead (`both` in JSON is the library's `concurrent`). */
function found(json: { differences: Array<{ bucket: string; key: string; ahead: string }> }): Map<string, string> {
  return new Map(json.differences.map((d) => [`${d.bucket}/${d.key}`, d.ahead === 'both' ? 'concurrent' : d.ahead]));
}

describe('a served cluster against a local one', () => {
  test('compare finds exactly the planted differences; repair heals them; compare and sync then agree', async () => {
    const { client } = await servedCluster('dc1', { nodeCount: 3, ringSize: 8, nVal: 2 });
    const local = join(dir, 'dr1');
    await (await EmbeddedCluster.create(local, defaultSpec('dr1', { nodeCount: 2, ringSize: 16, nVal: 2, treeSize: 'small' }))).close();
    const expected = await drift(client, local);

    const cmp = await aae('compare', client, local, '--json', '--pause-ms', '0');
    expect(cmp.code).toBe(1);
    expect(found(cmp.json())).toEqual(expected);
    // Partial exchanges (a bucket, a modified range) fold trees on the nodes and send them whole,
    // as accumulators inside gRPC messages: read at whatever offset the message put them.
    const bucket = await aae('compare', client, local, '--bucket', 'b1', '--json', '--pause-ms', '0');
    expect(bucket.code, bucket.stderr).toBe(1);
    expect(found(bucket.json())).toEqual(new Map([...expected].filter(([k]) => k.startsWith('b1/'))));
    const range = await aae('compare', client, local, '--modified-range', '2023-11-14T00:00:00Z..2023-11-15T00:00:00Z', '--json', '--pause-ms', '0');
    expect(range.code, range.stderr).toBe(1);
    expect(found(range.json())).toEqual(expected);
    const dry = await aae('repair', client, local, '--dry-run', '--json', '--pause-ms', '0');
    expect(dry.code, dry.stderr).toBe(1);

    const rep = await aae('repair', client, local, '--json', '--pause-ms', '0');
    expect(rep.code, rep.stderr).toBe(0);
    const again = await aae('compare', client, local, '--json', '--pause-ms', '0');
    expect(again.code).toBe(0);
    expect(again.json<{ differences: unknown[] }>().differences).toEqual([]);
    // The served side took the sink's newer tombstone: read back through the served nodes.
    expect((await aae('get', client, 'b1', 'k100')).code).toBe(1);
    expect((await aae('compare', client, '--json', '--pause-ms', '0')).code).toBe(0);

    const sync = await aae('sync', client, local, '--once', 'all', '--pause-ms', '0', '--state', join(dir, 'state.json'), '--json');
    expect(sync.code, sync.stderr).toBe(0);
    const st = await aae('cluster', 'status', client, '--json');
    expect(st.code).toBe(0);
    expect(st.json<{ nodes: Array<{ reachable: boolean; vnodes: number }> }>().nodes.map((n) => n.reachable)).toEqual([true, true, true]);
  });

  test('a node down before the command opens the cluster: aae compare and aae cluster status route around it', async () => {
    const { client } = await servedCluster('dc3', { nodeCount: 3, ringSize: 8, nVal: 2 });
    const local = join(dir, 'dr3');
    await (await EmbeddedCluster.create(local, defaultSpec('dr3', { nodeCount: 2, ringSize: 16, nVal: 2, treeSize: 'small' }))).close();
    const expected = await drift(client, local);
    const victim = served!.nodes.find((n) => n.name === 'n3')!;
    victim.process.kill('SIGKILL');
    await victim.exited;
    const r = await aae('compare', client, local, '--pause-ms', '0', '--json');
    expect(r.code, r.stderr).toBe(1);
    const found = r.json<{ differences: Array<{ bucket: string; key: string }> }>().differences;
    expect(new Set(found.map((d) => `${d.bucket}/${d.key}`))).toEqual(new Set(expected.keys()));
    const st = await aae('cluster', 'status', client, '--json');
    expect(st.code).toBe(1);
    expect(st.json<{ nodes: Array<{ node: string; reachable: boolean }> }>().nodes.map((n) => [n.node, n.reachable])).toEqual([['n1', true], ['n2', true], ['n3', false]]);
    // get reads around n3 (nVal 2: every key has a replica elsewhere), for keys whichever node holds them.
    for (const i of [0, 1, 3]) {
      const got = await aae('get', client, `b${i % 3}`, `k${i}`, '--json');
      expect(got.code, got.stderr).toBe(0);
      expect(got.json<{ value: string }>().value).toBe(i === 3 ? 'newer' : base(i).value);
    }
  });

  test('a node killed mid-exchange: the coverage plan routes around it, and the planted differences are still found exactly', async () => {
    const { spec, client } = await servedCluster('dc2', { nodeCount: 3, ringSize: 8, nVal: 2 });
    const local = join(dir, 'dr2');
    await (await EmbeddedCluster.create(local, defaultSpec('dr2', { nodeCount: 2, ringSize: 16, nVal: 2, treeSize: 'small' }))).close();
    const expected = await drift(client, local);
    // An offset whose plan asks n2, so that killing n2 matters.
    const owners = claim(spec.ringSize, spec.nodes, spec.nVal).owners;
    const offset = [...Array(spec.ringSize * spec.nVal).keys()].find((o) => plan({ ringSize: spec.ringSize, nVal: spec.nVal, owners, offset: o }).vnodes.some((v) => v.node === 'n2'))!;
    const victim = served!.nodes.find((n) => n.name === 'n2')!;
    await withOpen(client, async (dc) => {
      const dr = await EmbeddedCluster.open(local);
      try {
        let killed = false;
        const r = await compareClusters(dc, dr, {
          pauseMs: 0,
          jitter: false,
          sourceOffset: offset,
          onProgress: () => {
            if (!killed) {
              killed = true;
              victim.process.kill('SIGKILL');
            }
          },
        });
        expect(killed).toBe(true);
        expect(new Map(r.differences.map((d) => [`${d.bucket}/${new TextDecoder().decode(d.key)}`, d.ahead]))).toEqual(expected);
        expect([...dc.unavailable]).toEqual(['n2']);
        // Writes (a repair's too) go to every replica: with n2 down they stop, naming the node.
        const e = await dc.putMany(Array.from({ length: 20 }, (_, i) => base(i))).catch((err: unknown) => err);
        expect(isAaeError(e, 'NODE_UNAVAILABLE')).toBe(true);
        expect((e as Error).message).toContain('n2');
      } finally {
        await dr.close();
      }
    });
  });

  test('with no other replica to route to (nVal 1), the compare fails with NODE_UNAVAILABLE naming the node', async () => {
    const { client } = await servedCluster('dc3', { nodeCount: 2, ringSize: 8, nVal: 1 });
    const local = join(dir, 'dr3');
    await (await EmbeddedCluster.create(local, defaultSpec('dr3', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'small' }))).close();
    served!.nodes.find((n) => n.name === 'n2')!.process.kill('SIGKILL');
    await served!.nodes.find((n) => n.name === 'n2')!.exited;
    const r = await aae('compare', client, local, '--pause-ms', '0');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/n2.*\[NODE_UNAVAILABLE\]/);
    // In the node's words, not the exchange engine's (its stage and side are in the log line and details).
    const said = r.stderr.split('\n').find((l) => l.startsWith('aae: '))!;
    expect(said).toBe('aae: node n2 of cluster dc3 is unreachable, and 4 keyspace(s) have no other replica up [NODE_UNAVAILABLE]');
  });
});
