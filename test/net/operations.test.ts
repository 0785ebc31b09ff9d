import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { defaultSpec, type ClusterSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { isAaeError } from '../../src/errors.js';
import { mergeRootNval, replKeysRange, runFold } from '../../src/fold/index.js';
import { RemoteNode, openCluster } from '../../src/net/index.js';
import { spawn } from 'node:child_process';
import { MAIN, clientDir, serveNode } from '../support/served.js';

/** What an operator relies on: SIGTERM drains and saves trees, /metrics and /healthz answer, a stopped node times out. */
let dir: string;
let spec: ClusterSpec;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-ops-'));
  spec = defaultSpec('ops', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'xxsmall' });
  const c = await EmbeddedCluster.create(join(dir, 'server'), spec);
  await c.putMany(Array.from({ length: 40 }, (_, i) => ({ bucket: 'b', key: `k${i}`, value: 'v' })));
  await c.close();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a node server in operation', () => {
  test('SIGTERM lets a fold in flight finish, saves the trees and exits 0', async () => {
    const node = await serveNode(join(dir, 'server'), 'n1');
    const c = await openCluster(await clientDir(join(dir, 'client'), spec, { n1: node.address }));
    try {
      let batches = 0;
      const fold = runFold(c, replKeysRange, { batchSize: 1 }, {
        sink: async () => {
          if (++batches === 1) node.process.kill('SIGTERM');
          await new Promise((r) => setTimeout(r, 10));
        },
      });
      const { acc } = await fold;
      expect(acc.dispatched).toBe(40);
      expect(await node.exited).toBe(0);
      expect(node.log()).toMatch(/"code":"NS005"[\s\S]*"code":"NS006"[\s\S]*"code":"NS011"/);
    } finally {
      await c.close();
    }
    // The trees were saved: a restarted node restores them instead of rebuilding them from heads.
    const again = await serveNode(join(dir, 'server'), 'n1');
    const remote = new RemoteNode('n1', again.address, { transport: { kind: 'insecure' } });
    const c2 = await openCluster(await clientDir(join(dir, 'client2'), spec, { n1: again.address }));
    try {
      await runFold(c2, mergeRootNval, {});
      const origins = new Set((await remote.info()).trees!.map((t) => t.origin));
      expect(origins).toEqual(new Set(['restored']));
    } finally {
      await c2.close();
      await remote.close();
      again.process.kill('SIGTERM');
      await again.exited;
    }
  });

  test('/metrics counts requests by method and shows the fold queue; /healthz answers', async () => {
    const node = await serveNode(join(dir, 'server'), 'n1', { flags: ['--insecure', '--metrics-listen', '127.0.0.1:0'] });
    try {
      await expect.poll(() => node.log()).toMatch(/"code":"NS010"/);
      const metricsAt = /"code":"NS010".*?"address":"([^"]+)"/.exec(node.log())![1]!;
      const remote = new RemoteNode('n1', node.address, { transport: { kind: 'insecure' } });
      await remote.info();
      await remote.info();
      await remote.readHeads({ vnode: 0, keys: [{ bucket: 'b', key: new Uint8Array([1]) }] }).catch(() => undefined);
      await remote.close();
      const health = await fetch(`http://${metricsAt}/healthz`);
      expect(health.status).toBe(200);
      const text = await (await fetch(`http://${metricsAt}/metrics`)).text();
      expect(text).toMatch(/aae_node_requests_total\{method="Info",code="OK"\} 2/);
      expect(text).toMatch(/aae_node_requests_total\{method="ReadHeads",code="NODE_REQUEST_INVALID"\} 1/);
      expect(text).toMatch(/aae_node_fold_waiting 0/);
      expect(text).toMatch(/aae_node_backlog_refusals_total 0/);
      expect(text).toMatch(/aae_node_request_seconds_bucket\{le="0.001",method="Info"\}/);
      expect((await fetch(`http://${metricsAt}/nothing`)).status).toBe(404);
    } finally {
      node.process.kill('SIGTERM');
      await node.exited;
    }
  });

  test('a node that stops answering (SIGSTOP) fails calls with TIMEOUT naming it; it serves again once resumed', async () => {
    const node = await serveNode(join(dir, 'server'), 'n1');
    const remote = new RemoteNode('n1', node.address, { transport: { kind: 'insecure' }, callTimeoutMs: 1500 });
    try {
      await remote.info();
      node.process.kill('SIGSTOP');
      const e = await remote.info().catch((err: unknown) => err);
      expect(isAaeError(e, 'TIMEOUT')).toBe(true);
      expect((e as Error).message).toContain('n1');
      node.process.kill('SIGCONT');
      expect((await remote.info()).name).toBe('n1');
    } finally {
      node.process.kill('SIGCONT');
      await remote.close();
      node.process.kill('SIGTERM');
      await node.exited;
    }
  });

  test('aae sync --metrics-listen counts its checks, exchanges and repairs while it runs', async () => {
    const node = await serveNode(join(dir, 'server'), 'n1');
    const client = await clientDir(join(dir, 'client'), spec, { n1: node.address });
    const dr = join(dir, 'dr');
    await (await EmbeddedCluster.create(dr, defaultSpec('dr', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'xxsmall' }))).close();
    const child = spawn(process.execPath, [MAIN, 'sync', client, dr, '--schedule', 'all=3', '--period', '30s', '--checks', '3', '--pause-ms', '0', '--metrics-listen', '127.0.0.1:0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await expect.poll(() => out, { timeout: 30_000 }).toMatch(/"outcome"/);
      const at = /metrics: http:\/\/([^/]+)\/metrics/.exec(err)![1]!;
      const text = await (await fetch(`http://${at}/metrics`)).text();
      expect(text).toMatch(/aae_sync_checks_total\{kind="all",outcome="repaired"\} 1/);
      // The metrics say what the check's own report says (an empty sink is filled by range replication: 0 listed deltas).
      const first = JSON.parse(out.split('\n')[0]!) as { differences: number; repaired: { keys: number } };
      expect(first.repaired.keys).toBe(40);
      expect(text).toContain(`aae_sync_deltas_found_total ${first.differences}`);
      expect(text).toContain('aae_sync_keys_repaired_total 40');
      expect((await fetch(`http://${at}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      node.process.kill('SIGTERM');
      await node.exited;
    }
  });

  test('limits: requests in flight per client, and message size, are refused with NODE_LIMIT_EXCEEDED; the node serves on', async () => {
    // 600 KB of keys: far more than HTTP/2's window and the streams' buffers hold, so a fold whose
    // caller stops taking its keys stays in flight on the node until the caller goes on.
    const local = await EmbeddedCluster.open(join(dir, 'server'));
    await local.putMany(Array.from({ length: 300 }, (_, i) => ({ bucket: 'big', key: `${i}:${'k'.repeat(2000)}`, value: 'v' })));
    await local.close();
    const node = await serveNode(join(dir, 'server'), 'n1', { flags: ['--insecure', '--max-in-flight', '1', '--max-message-bytes', '4096'] });
    const c = await openCluster(await clientDir(join(dir, 'client'), spec, { n1: node.address }));
    try {
      // A fold whose keys the caller takes slowly holds the one request this client may have in flight.
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      let first = true;
      const slow = runFold(c, replKeysRange, { batchSize: 1 }, {
        sink: async () => {
          if (first) {
            first = false;
            await held;
          }
        },
      });
      await expect.poll(() => first).toBe(false);
      const refused = await c.node('n1').info().catch((e: unknown) => e);
      expect(isAaeError(refused, 'NODE_LIMIT_EXCEEDED')).toBe(true);
      release();
      expect((await slow).acc.dispatched).toBe(340);
      // A write larger than the node takes.
      const big = await c.put({ bucket: 'b', key: 'big', value: 'x'.repeat(8192) }).catch((e: unknown) => e);
      expect(isAaeError(big, 'NODE_LIMIT_EXCEEDED')).toBe(true);
      expect((await c.node('n1').info()).name).toBe('n1');
      expect(node.log()).toMatch(/"code":"NS004"/);
    } finally {
      await c.close();
      node.process.kill('SIGTERM');
      await node.exited;
    }
  });
});
