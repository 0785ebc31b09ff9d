/**
 * A throwaway etcd for tests and benchmarks: Debian's `etcd` (etcd-server) as a one-member
 * cluster on two free loopback ports, its data in a temporary directory; `stop()` kills it and
 * removes the directory. Never used against a user's cluster.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AaeError } from '../../errors.js';
import { freePort } from '../pg/local-server.js';
import { etcdClient } from './etcd-connection.js';

export interface LocalEtcd {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** etcd://127.0.0.1:<port> */
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export async function startLocalEtcd(): Promise<LocalEtcd> {
  const dir = await mkdtemp(join(tmpdir(), 'aae-etcd-'));
  const client = await freePort();
  const peer = await freePort();
  const endpoint = `http://127.0.0.1:${client}`;
  const child = spawn(
    'etcd',
    [
      '--name', 'aae-test',
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `aae-test=http://127.0.0.1:${peer}`,
      '--log-level', 'error',
      '--logger', 'zap',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const keep = (d: Buffer): void => {
    log = (log + d.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let gone: string | null = null;
  const exited = new Promise<void>((r) => child.once('exit', () => ((gone ??= 'exited'), r())));
  child.once('error', (e) => (gone = e.message));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const c = etcdClient([endpoint]);
  try {
    for (let i = 0; ; i++) {
      if (gone !== null) throw new AaeError('INVALID_ARGUMENT', `etcd ${gone} while starting (is Debian's etcd-server installed?):\n${log}`);
      try {
        await c.kv.range({ key: Buffer.from('x') });
        break;
      } catch {
        if (i > 300) throw new AaeError('TIMEOUT', `etcd did not answer within 30 s:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    c.close();
  }
  return { endpoint, url: `etcd://127.0.0.1:${client}`, dir, stop };
}
