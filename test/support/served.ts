import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { writeClusterConfig, type ClientTls, type ClusterSpec } from '../../src/cluster/index.js';

/**
 * Real node servers for the tests: each node of a cluster directory served by its own
 * `aae node serve` process (the built CLI: `npm ci` builds dist/, as CI does), on a free loopback
 * port, and a second directory holding only a cluster.json that points at them.
 */
export const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');

export interface ServedNode {
  name: string;
  address: string;
  process: ChildProcess;
  /** Everything the process wrote to stderr so far (its JSON log lines). */
  log(): string;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
}

export interface ServeOptions {
  /** Extra flags for every `aae node serve` (TLS, limits); default --insecure. */
  flags?: readonly string[];
}

/** A node that has not said where it listens in this long is killed and the start fails (a busy machine takes a few s). */
const START_TIMEOUT_MS = 45_000;

/** Starts `aae node serve <dir> <name>` and waits for its NS001 line (the address it listens on). */
export function serveNode(dir: string, name: string, options: ServeOptions = {}): Promise<ServedNode> {
  const flags = options.flags ?? ['--insecure'];
  const child = spawn(process.execPath, [MAIN, 'node', 'serve', dir, name, '--listen', '127.0.0.1:0', '--drain-ms', '5000', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise<ServedNode>((resolve, reject) => {
    // Never leave a process behind: one that does not come up in time is killed.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aae node serve ${name} did not listen within ${START_TIMEOUT_MS} ms: ${stderr}`));
    }, START_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      stderr += d.toString();
      const m = /"code":"NS001".*?"address":"([^"]+)"/.exec(stderr);
      if (m !== null) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        child.stderr!.on('data', (more: Buffer) => (stderr += more.toString()));
        resolve({ name, address: m[1]!, process: child, log: () => stderr, exited });
      }
    };
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`aae node serve ${name} exited ${code} before listening: ${stderr}`));
    });
    child.on('error', reject);
  });
}

export interface ServedCluster {
  nodes: ServedNode[];
  /** The address of each node, by name. */
  addresses: Record<string, string>;
  /** SIGTERM to every node still running; resolves when all have exited. */
  stop(): Promise<void>;
}

/** Serves every node of the cluster at `dir` (a plain cluster directory). */
export async function serveCluster(dir: string, spec: ClusterSpec, options: ServeOptions = {}): Promise<ServedCluster> {
  const started = await Promise.allSettled(spec.nodes.map((n) => serveNode(dir, n, options)));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    for (const r of started) if (r.status === 'fulfilled') r.value.process.kill('SIGKILL');
    throw failed.reason;
  }
  const nodes = started.map((r) => (r as PromiseFulfilledResult<ServedNode>).value);
  return {
    nodes,
    addresses: Object.fromEntries(nodes.map((n) => [n.name, n.address])),
    async stop() {
      for (const n of nodes) if (n.process.exitCode === null && n.process.signalCode === null) n.process.kill('SIGTERM');
      await Promise.all(nodes.map((n) => n.exited));
    },
  };
}

/** A directory holding only a cluster.json whose nodes are the served ones. */
export async function clientDir(dir: string, spec: ClusterSpec, addresses: Record<string, string>, tls: ClientTls = 'insecure'): Promise<string> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  await writeClusterConfig(dir, { spec, addresses, tls });
  return dir;
}
