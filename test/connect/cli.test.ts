import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readState, writeState } from '../../src/connect/keystore-state.js';
import { usePostgres } from '../support/postgres.js';
import { aae } from '../cli/helpers.js';
import { sql, tempDir } from './pg-helpers.js';

/**
 * aae connect, aae follow and aae compare on keystores of two real databases (one server, two
 * databases: a primary and a DR copy that misses some writes).
 */

const pgs = usePostgres();
let dir: { path: string; dispose(): Promise<void> };
let primary = '';
let dr = '';

beforeAll(async () => {
  dir = await tempDir();
  primary = await pgs.db('primary_db');
  dr = await pgs.db('dr_db');
  for (const u of [primary, dr]) {
    await sql(u, 'CREATE TABLE kv (id text PRIMARY KEY, val text, updated_at timestamptz NOT NULL DEFAULT now())');
    await sql(u, "INSERT INTO kv (id, val) SELECT 'k' || i, 'v' || i FROM generate_series(1, 300) i");
  }
});
afterAll(async () => {
  await dir.dispose();
});

const ks = (name: string): string => join(dir.path, name);

describe('aae connect', () => {
  test('bad input names the field and exits 2; nothing is created', async () => {
    const noCol = await aae('connect', ks('bad'), primary, '--table', 'kv', '--columns', 'val,nope');
    expect(noCol.code).toBe(2);
    expect(noCol.stderr).toMatch(/columns: public\.kv has no column 'nope'.*\[SOURCE_INVALID\]/);
    const noTable = await aae('connect', ks('bad'), primary, '--table', 'missing');
    expect(noTable.stderr).toMatch(/no table public\.missing.*\[SOURCE_INVALID\]/);
    const badSlot = await aae('connect', ks('bad'), primary, '--table', 'kv', '--slot', 'Bad-Name');
    expect(badSlot.code).toBe(2);
    expect(badSlot.stderr).toMatch(/source\.slot: must be 1\.\.63 characters.*\[CONNECT_SPEC_INVALID\]/);
    const badUrl = await aae('connect', ks('bad'), 'mysql://x/y', '--table', 'kv');
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/^aae: the source URL must start with postgresql:\/\/ \(or postgres:\/\/\), redis:\/\/ \(rediss:\/\/\) or etcd:\/\/ .*; got mysql:\/\/ \[CONNECT_SPEC_INVALID\]/);
    const unreachable = await aae('connect', ks('bad'), 'postgresql://aae@127.0.0.1:1/x', '--table', 'kv');
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/\(ECONNREFUSED\) \[SOURCE_UNAVAILABLE\]/);
    expect(unreachable.stderr).not.toContain('SQLSTATE ECONNREFUSED');
    const both = await aae('follow', ks('bad'), '--status', '--once');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--status only reads .* give one of them \[USAGE\]/);
    const status = await aae('follow', ks('bad'), '--status');
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/\[KEYSTORE_NOT_FOUND\]/);
  });

  test('two keystores: follow --once, compare in sync, then exactly the keys the DR missed', async () => {
    for (const [name, url] of [['p', primary], ['d', dr]] as const) {
      const made = await aae('connect', ks(name), url, '--table', 'kv', '--updated-at', 'updated_at', '--json');
      expect(made.code, made.stderr).toBe(0);
      // The updated-at column gives lastModified and is not hashed by default: it says when, not what.
      expect(made.json<{ spec: { bucket: string; source: { key: string[]; columns: string[] } } }>().spec).toMatchObject({ bucket: 'kv', source: { key: ['id'], columns: ['val'], updatedAt: 'updated_at' } });
      expect((await aae('connect', ks(name), url, '--table', 'kv')).stderr).toMatch(/\[KEYSTORE_EXISTS\]/);
      // Not built yet: unreliable, and compare would refuse.
      expect((await aae('follow', ks(name), '--status')).code).toBe(1);
      const built = await aae('follow', ks(name), '--once', '--json');
      expect(built.code, built.stderr).toBe(0);
      expect(built.json()).toMatchObject({ builds: 1, reliable: true });
      expect(built.stderr).toMatch(/CN001 first build/);
    }
    // The same rows, but updated_at differs between the databases: only val is hashed (the
    // default with --updated-at, said here explicitly).
    for (const [name, url] of [['p2', primary], ['d2', dr]] as const) {
      expect((await aae('connect', ks(name), url, '--table', 'kv', '--columns', 'val', '--updated-at', 'updated_at')).code).toBe(0);
      expect((await aae('follow', ks(name), '--once')).code).toBe(0);
    }
    const same = await aae('compare', ks('p2'), ks('d2'), '--pause-ms', '0', '--json');
    expect(same.code, same.stderr).toBe(0);
    expect(same.json()).toMatchObject({ inSync: true, keystores: [{ reliable: true }, { reliable: true }] });

    await sql(primary, "UPDATE kv SET val = 'new' WHERE id IN ('k3', 'k30')");
    await sql(primary, "INSERT INTO kv (id, val) VALUES ('extra', 'x')");
    await sql(primary, "DELETE FROM kv WHERE id = 'k300'");
    expect((await aae('follow', ks('p2'), '--once')).code).toBe(0);
    expect((await aae('follow', ks('d2'), '--once')).code).toBe(0);
    const diff = await aae('compare', ks('p2'), ks('d2'), '--pause-ms', '0', '--json');
    expect(diff.code).toBe(1);
    const differences = diff.json<{ differences: Array<{ key: string; ahead: string; maybeDeletedOn?: string }> }>().differences;
    expect(differences.map((d) => d.key).sort()).toEqual(['extra', 'k3', 'k30', 'k300']);
    // k300, deleted on the primary, is on the DR only: the DR is "ahead", or the primary deleted
    // it (a keystore keeps no tombstone), and the listing says both. A key the primary alone has
    // may have been deleted on the DR's side just the same.
    const byKey = new Map(differences.map((d) => [d.key, d]));
    expect(byKey.get('k300')).toMatchObject({ ahead: 'sink', maybeDeletedOn: 'source' });
    expect(byKey.get('extra')).toMatchObject({ ahead: 'source', maybeDeletedOn: 'sink' });
    expect(byKey.get('k3')?.maybeDeletedOn).toBeUndefined();
    const text = await aae('compare', ks('p2'), ks('d2'), '--pause-ms', '0');
    expect(text.stdout).toMatch(/keystore .*p2: reliable; position [0-9A-F]+\/[0-9A-F]+; lag \d+ B/);
    expect(text.stdout).toMatch(/k300 .*d2 \(or deleted on p2\)/);

    // A keystore holds hashes, not rows: object commands refuse it (and write nothing into it).
    for (const args of [['get', ks('p2'), 'kv', 'k3'], ['put', ks('p2'), 'kv', 'k3', 'x'], ['delete', ks('p2'), 'kv', 'k3']]) {
      const r = await aae(...args);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr).toMatch(/is a keystore.*\[USAGE\]/);
    }

    const status = await aae('follow', ks('p2'), '--status', '--json');
    expect(status.code).toBe(0);
    expect(status.json()).toMatchObject({ reliable: true, phase: 'ready' });
  });

  test('compare refuses to call an unreliable keystore in sync (exit 3), and warns beside differences', async () => {
    const state = await readState(ks('d'));
    await writeState(ks('d'), { ...state, reliable: false, unreliable: { reason: 'test gap', since: Date.now() } });
    try {
      // The primary's keystore holds the changes the DR never got: differences, with a warning.
      const same = await aae('compare', ks('p2'), ks('d'), '--pause-ms', '0', '--json');
      expect(same.code).toBe(1);
      expect(same.stderr).toMatch(/warning: unreliable keystore/);
      // One keystore compared with itself (nVal 1: no replica pairs) is trivially in sync: refused.
      const self = await aae('compare', ks('d'), '--pause-ms', '0');
      expect(self.code).toBe(3);
      expect(self.stderr).toMatch(/not calling it in sync.*test gap.*\[KEYSTORE_UNRELIABLE\]/);
    } finally {
      await writeState(ks('d'), state);
    }
  });

  test('aae follow runs until SIGTERM, exits 143, and leaves the keystore usable', async () => {
    const main = join(import.meta.dirname, '../../dist/src/cli/main.js');
    let held: Awaited<ReturnType<typeof aae>> | undefined;
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [main, 'follow', ks('p')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      let sent = false;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // Once it streams, ask for the status (the store is the follower's), then stop it.
        if (!sent && /CN003 following/.test(stderr)) {
          sent = true;
          void aae('cluster', 'status', ks('p'), '--json').then(
            (st) => {
              held = st;
              child.kill('SIGTERM');
            },
            (e: unknown) => {
              child.kill('SIGTERM');
              reject(e);
            },
          );
        }
      });
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(143);
    // cluster status of a keystore another process follows: its saved state, not STORE_LOCKED.
    expect(held?.code, held?.stderr).toBe(0);
    expect(held?.json()).toMatchObject({ nodes: [], heldElsewhere: true, keystore: { reliable: true, phase: 'ready' } });
    // The usual end of a follow: where it stopped, no error line.
    expect(r.stdout).toMatch(/^stopped: keystore .*: reliable; position [0-9A-F]+\/[0-9A-F]+;/);
    expect(r.stderr).not.toContain('[ABORTED]');
    expect(r.stderr).not.toMatch(/^aae: /m);
    expect((await aae('follow', ks('p'), '--once')).code).toBe(0);
  });
});
