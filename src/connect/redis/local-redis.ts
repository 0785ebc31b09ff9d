/**
 * Throwaway Redis servers for tests and benchmarks: `redis-server` (Debian's) on free loopback
 * ports, each in its own temporary directory, with keyspace notifications on (KA), no persistence;
 * or a Redis Cluster of such servers (masters, and replicas to fail over to), made with
 * `redis-cli --cluster create`. `stop()` kills them and removes the directories. Never used
 * against a user's server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { AaeError } from '../../errors.js';
import { freePort } from '../pg/local-server.js';

export interface LocalRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Kills the server at once (SIGKILL), as a crash would; the directory stays until stop(). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface LocalRedisOptions {
  /** Extra config directives (`--name value`). */
  settings?: Record<string, string | number>;
  /** notify-keyspace-events (default KA; '' for off). */
  notify?: string;
  cluster?: boolean;
}

export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'aae-redis-'));
  const port = await freePort();
  const settings: Record<string, string | number> = {
    port,
    bind: '127.0.0.1',
    dir,
    save: '""',
    appendonly: 'no',
    'notify-keyspace-events': options.notify ?? 'KA',
    // A fast failover for tests: a master is failed after 1 s, and a replica syncs at once (the
    // default waits 5 s before a diskless sync; a replica that never synced cannot take over).
    ...(options.cluster ? { 'cluster-enabled': 'yes', 'cluster-config-file': join(dir, 'nodes.conf'), 'cluster-node-timeout': 1000, 'repl-diskless-sync-delay': 0 } : {}),
    ...(options.settings ?? {}),
  };
  const args = Object.entries(settings).flatMap(([k, v]) => [`--${k}`, v === '""' ? '' : String(v)]);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer): void => {
    log = (log + d.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const spawnFailed = new Promise<Error>((r) => child.once('error', r));
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitReady(url, exited, spawnFailed, () => log);
  } catch (e) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return {
    port,
    url,
    dir,
    kill,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(url: string, exited: Promise<void>, failed: Promise<Error>, log: () => string): Promise<void> {
  let gone: string | null = null;
  void exited.then(() => (gone = 'exited'));
  void failed.then((e) => (gone = e.message));
  for (let i = 0; i < 200; i++) {
    if (gone !== null) throw new AaeError('INVALID_ARGUMENT', `redis-server ${gone} while starting (is Debian's redis-server installed?):\n${log()}`);
    const c = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.close();
      return;
    } catch {
      // A connect that failed may have closed the client already, and destroy() then throws.
      if (c.isOpen) c.destroy();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new AaeError('TIMEOUT', `redis-server did not accept connections within 10 s:\n${log()}`);
}

export interface LocalRedisCluster {
  readonly nodes: LocalRedis[];
  /** A seed URL (the first node's). */
  readonly url: string;
  stop(): Promise<void>;
}

/** A cluster of `masters` masters with `replicas` replicas each, every slot assigned, ready for commands. */
export async function startLocalRedisCluster(masters = 3, replicas = 1): Promise<LocalRedisCluster> {
  const nodes: LocalRedis[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) nodes.push(await startLocalRedis({ cluster: true }));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
    await waitClusterOk(nodes);
    await waitReplicasSynced(nodes);
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw e;
  }
  return {
    nodes,
    url: nodes[0]!.url,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** Waits until every live node says cluster_state:ok and agrees on `masters` masters. */
export async function waitClusterOk(nodes: readonly LocalRedis[], masters?: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    let ok = true;
    for (const n of nodes) {
      const c = createClient({ url: n.url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
      c.on('error', () => undefined);
      try {
        await c.connect();
        const info = String(await c.sendCommand(['CLUSTER', 'INFO']));
        const slots = (await c.sendCommand(['CLUSTER', 'SLOTS'])) as unknown[];
        if (!info.includes('cluster_state:ok') || (masters !== undefined && slots.length < masters)) ok = false;
        await c.close();
      } catch {
        c.destroy(); // a killed node: skip it
      }
    }
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new AaeError('TIMEOUT', 'the Redis Cluster did not reach cluster_state:ok within 60 s');
}

/** Waits until every replica's link to its master is up (a replica that never synced cannot fail over). */
async function waitReplicasSynced(nodes: readonly LocalRedis[]): Promise<void> {
  for (let i = 0; i < 600; i++) {
    let ok = true;
    for (const n of nodes) {
      const c = createClient({ url: n.url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
      c.on('error', () => undefined);
      try {
        await c.connect();
        const info = String(await c.sendCommand(['INFO', 'replication']));
        if (info.includes('role:slave') && !info.includes('master_link_status:up')) ok = false;
        await c.close();
      } catch {
        c.destroy();
        ok = false;
      }
    }
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new AaeError('TIMEOUT', 'the Redis Cluster replicas did not sync within 60 s');
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`))));
  });
}
