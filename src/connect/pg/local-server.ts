/**
 * A throwaway PostgreSQL server for tests and benchmarks: `initdb` into a temporary directory,
 * `postgres` on a free loopback port with its unix socket in that directory, `wal_level=logical`,
 * stopped and removed by `stop()`. Never used against a user's server.
 *
 * The binaries are found under /usr/lib/postgresql/<version>/bin (Debian's layout; the newest
 * version wins) or in $PG_BIN. initdb refuses to run as root, so as root both programs run as the
 * `postgres` OS user, which then owns the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readdir, rm, access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AaeError } from '../../errors.js';

export interface LocalServer {
  readonly port: number;
  readonly host: '127.0.0.1';
  /** The superuser (trust authentication on loopback and the socket). */
  readonly user: string;
  readonly dir: string;
  /** The postmaster's process id (benchmarks account the server's CPU time by it). */
  readonly pid: number;
  /** `postgresql://user@127.0.0.1:port/<db>`. */
  url(db?: string): string;
  /** Creates a database (and returns its url). */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

export interface LocalServerOptions {
  /** Extra `-c name=value` settings (e.g. fsync=off for tests). */
  settings?: Record<string, string | number>;
  /** Temp directory prefix. */
  prefix?: string;
}

const SUPERUSER = 'aae';
/** Slots and senders enough for tests that run several feeds and drop slots on purpose. */
const BASE_SETTINGS: Record<string, string | number> = {
  wal_level: 'logical',
  max_replication_slots: 32,
  max_wal_senders: 32,
  listen_addresses: '127.0.0.1',
  max_connections: 200,
};

/** The directory holding initdb and postgres. */
export async function findPgBin(): Promise<string> {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = (await readdir(root)).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    // none installed
  }
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (await access(join(bin, 'initdb')).then(() => true, () => false)) return bin;
  }
  throw new AaeError('INVALID_ARGUMENT', 'no PostgreSQL server binaries found (install Debian\'s postgresql, or set PG_BIN)');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** uid/gid to run the server as: the postgres user when we are root, else ourselves. */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const out = await capture('id', ['-u', 'postgres']).catch(() => '');
  const gid = await capture('id', ['-g', 'postgres']).catch(() => '');
  if (out.trim() === '' || gid.trim() === '') throw new AaeError('INVALID_ARGUMENT', 'running as root, but there is no postgres OS user to run the server as');
  return { uid: Number(out.trim()), gid: Number(gid.trim()) };
}

function capture(cmd: string, args: string[], as?: { uid: number; gid: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(as ?? {}) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err || out}`))));
  });
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const bin = await findPgBin();
  const as = await runAs();
  const dir = await mkdtemp(join(tmpdir(), options.prefix ?? 'aae-pg-'));
  const data = join(dir, 'data');
  let child: ChildProcess | undefined;
  try {
    if (as !== undefined) await chown(dir, as.uid, as.gid);
    await capture(join(bin, 'initdb'), ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], as);
    const port = await freePort();
    const settings = { ...BASE_SETTINGS, unix_socket_directories: dir, port, ...(options.settings ?? {}) };
    const args = ['-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    child = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...(as ?? {}) });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    await waitReady(port, exited, () => log);
    const proc = child;
    const url = (db = 'postgres'): string => `postgresql://${SUPERUSER}@127.0.0.1:${port}/${db}`;
    return {
      port,
      host: '127.0.0.1',
      user: SUPERUSER,
      dir,
      pid: proc.pid!,
      url,
      async createDatabase(name) {
        const c = new pg.Client({ connectionString: url() });
        await c.connect();
        try {
          await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
        } finally {
          await c.end();
        }
        return url(name);
      },
      async stop() {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGINT'); // fast shutdown: disconnect clients, checkpoint, exit
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

/** Polls until the server accepts a connection (or it exits: then its log is the error). */
async function waitReady(port: number, exited: Promise<number | null>, log: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 300; i++) {
    if (gone) throw new AaeError('INVALID_ARGUMENT', `the PostgreSQL server exited while starting:\n${log()}`);
    const c = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, database: 'postgres', connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.end();
      return;
    } catch {
      await c.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new AaeError('TIMEOUT', `the PostgreSQL server did not accept connections within 30 s:\n${log()}`);
}

/** Whether this machine can start a local server (the binaries exist). */
export async function canStartLocalServer(): Promise<boolean> {
  return findPgBin().then(() => true, () => false);
}

export const currentUser = (): string => userInfo().username;
