import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readClusterSpec } from '../../src/cluster/index.js';
import { aae, withTempDir } from '../cli/helpers.js';
import { redisClient, useEtcd, useRedis } from '../support/redis.js';
import { spawn } from 'node:child_process';
import { MAIN, clientDir, serveCluster, type ServedCluster } from '../support/served.js';

/**
 * One sync runner across machines, for served clusters (issue 13's "the survivor resumes the
 * schedule"): each machine reaches the nodes through a client directory of its own, yet they keep
 * one state in etcd, because a served cluster is named by its nodes' copies, not by the client
 * directory. A rebuilt node is another copy; a node that does not answer is taken on trust.
 */

const etcd = useEtcd();
const redis = useRedis();
let c: Etcd3;
beforeAll(() => {
  c = new Etcd3({ hosts: etcd.server.endpoint });
});
afterAll(() => c.close());

const create = async (dir: string, name: string) => {
  const r = await aae('cluster', 'create', dir, '--name', name, '--ring-size', '8', '--nodes', '1', '--n-val', '1', '--tree-size', 'small');
  expect(r.code, r.stderr).toBe(0);
  return readClusterSpec(dir);
};

/** The pair's state in etcd is resumed from these directories: its watermark is read, and a range check runs from it. */
async function expectResumed(source: string, sink: string, lock: string, watermark: number): Promise<void> {
  const status = await aae('sync', source, sink, '--status', '--lock', lock, '--json');
  expect(status.json<{ watermark: string | null }>().watermark).toBe(new Date(watermark).toISOString());
  const range = await aae('sync', source, sink, '--once', 'range', '--pause-ms', '0', '--lock', lock, '--json');
  expect(range.code, range.stderr).toBe(0);
  expect(range.stderr).not.toMatch(/other copies/);
  expect(range.json<{ outcome: string; kind: string }>()).toMatchObject({ outcome: 'in_sync', kind: 'range' });
}

/**
 * A primary and a DR cluster of one node each, every node served by its own process from
 * `<tmp>/serve/<name>`, the primary holding `keys` keys. `rebuildSink` makes the DR node anew (a
 * new directory, so a new copy) and serves it again, at a new address.
 */
async function servedPair(tmp: string, source: string, sink: string, keys: number) {
  const at = (name: string) => join(tmp, 'serve', name);
  const dcSpec = await create(at(source), source);
  const drSpec = await create(at(sink), sink);
  const data = join(tmp, 'd.jsonl');
  await writeFile(data, Array.from({ length: keys }, (_, i) => JSON.stringify({ bucket: 'b', key: `k${i}`, value: `v${i}` })).join('\n'));
  expect((await aae('load', at(source), data)).code).toBe(0);
  const pair = { dcSpec, drSpec, dc: await serveCluster(at(source), dcSpec), dr: undefined as unknown as ServedCluster };
  try {
    pair.dr = await serveCluster(at(sink), drSpec);
  } catch (e) {
    await pair.dc.stop();
    throw e;
  }
  return {
    ...pair,
    /** This machine's client directories for the two. */
    machine: async (m: string) => ({ dc: await clientDir(join(tmp, m, source), dcSpec, pair.dc.addresses), dr: await clientDir(join(tmp, m, sink), drSpec, pair.dr.addresses) }),
    async rebuildSink(): Promise<void> {
      await pair.dr.stop();
      await rm(at(sink), { recursive: true });
      await create(at(sink), sink);
      pair.dr = await serveCluster(at(sink), drSpec);
    },
    /** The id of the directory a cluster is served from. */
    servedId: async (name: string) => (await readFile(join(at(name), 'cluster.id'), 'utf8')).trim(),
    get dr() {
      return pair.dr;
    },
    async stop(): Promise<void> {
      await pair.dc.stop();
      await pair.dr.stop();
    },
  };
}

test('two machines (two client directories each) share the state in etcd; a rebuilt DR node is another copy; a node down is taken on trust', () =>
  withTempDir(async (tmp) => {
    const pair = await servedPair(tmp, 'dc5', 'dr5', 30);
    try {
      const { drSpec, dc } = pair;
      const [one, two] = [await pair.machine('m1'), await pair.machine('m2')];
      const lock = `${etcd.server.url}/served/`;

      const first = await aae('sync', one.dc, one.dr, '--once', 'all', '--pause-ms', '0', '--lock', lock, '--json');
      expect(first.code, first.stderr).toBe(0);
      expect(first.json<{ outcome: string }>().outcome).toBe('repaired');
      const saved = JSON.parse((await c.get('served/dc5/dr5/state').string())!) as { sourceId: string; sinkId: string; previousSuccess: number };
      // The state names the nodes' copies: the served directories' ids, not machine one's client directories'.
      expect(saved.sourceId).toBe(`nodes:n1=${await pair.servedId('dc5')}`);
      expect(saved.previousSuccess).toBeGreaterThan(0);

      // Machine two, through its own client directories, resumes it: the watermark is there, and a range check runs from it.
      await expectResumed(two.dc, two.dr, lock, saved.previousSuccess);

      // The DR node rebuilt under the same name (a new directory, so a new id): machine two's
      // client directory pointed at it sees a state of other copies, and starts afresh.
      await pair.rebuildSink();
      await clientDir(two.dr, drSpec, pair.dr.addresses);
      const rebuilt = await aae('sync', two.dc, two.dr, '--status', '--lock', lock);
      expect(rebuilt.stdout).toMatch(/written against other copies: dr5's node n1 is served from another directory \(rebuilt\?\): ignored/);
      expect(rebuilt.stdout).toMatch(/watermark: +none yet/);
      // Nothing vouches for the rebuilt copy, whatever the last check said: a monitor is told so.
      expect(rebuilt.code).toBe(1);
      expect(rebuilt.stdout).toMatch(/the saved state is of other copies/);
      const json = await aae('sync', two.dc, two.dr, '--status', '--lock', lock, '--json');
      expect(json.json()).toMatchObject({ healthy: false, otherCopies: true, changed: [{ cluster: 'dr5', nodes: ['n1'] }] });

      // The source node down: its copy is unknown, matched on trust (said so), and the state is read.
      await clientDir(one.dr, drSpec, pair.dr.addresses);
      const again = await aae('sync', one.dc, one.dr, '--once', 'all', '--pause-ms', '0', '--lock', lock, '--json');
      expect(again.code, again.stderr).toBe(0);
      await dc.stop();
      const down = await aae('sync', one.dc, one.dr, '--status', '--lock', lock);
      expect(down.stderr).toMatch(/node n1 of dc5 did not say which copy of the cluster it is \(.*\); the state is matched on the other nodes/);
      expect(down.stdout).not.toMatch(/other copies/);
      expect(down.stdout).not.toMatch(/watermark: +none yet/);
    } finally {
      await pair.stop();
    }
  }), 180_000);

test('a running sync notices, at its next check, a DR node served from a new directory: that check fails SYNC_COPIES_CHANGED, and the state starts afresh', () =>
  withTempDir(async (tmp) => {
    const pair = await servedPair(tmp, 'dc8', 'dr8', 20);
    try {
      const { drSpec } = pair;
      const m = await pair.machine('m1');
      const lock = `${etcd.server.url}/live/`;
      expect((await aae('sync', m.dc, m.dr, '--once', 'all', '--pause-ms', '0', '--lock', lock, '--json')).code).toBe(0);

      // A daemon: an auto check every 4 s, three of them.
      const daemon = spawn(process.execPath, [MAIN, 'sync', m.dc, m.dr, '--schedule', 'auto=3', '--period', '12s', '--checks', '3', '--pause-ms', '0', '--lock', lock, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let errText = '';
      daemon.stdout.on('data', (d: Buffer) => (out += d.toString()));
      daemon.stderr.on('data', (d: Buffer) => (errText += d.toString()));
      const exited = new Promise<number | null>((res) => daemon.on('exit', (c) => res(c)));
      const reports = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { outcome: string; kind?: string; item: string; error?: { code: string; message: string } });
      const deadline = Date.now() + 30_000;
      while (reports().filter((r) => r.outcome !== 'skipped').length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(reports()[0], errText).toMatchObject({ outcome: 'in_sync' });

      // The DR node rebuilt: a new directory, served at the same... new address; the client directory follows it.
      await pair.rebuildSink();
      await clientDir(m.dr, drSpec, pair.dr.addresses);

      expect(await exited, errText).not.toBeNull();
      const done = reports().filter((r) => r.outcome !== 'skipped');
      expect(done.map((r) => r.outcome), out).toEqual(['in_sync', 'failed', 'repaired']);
      expect(done[1]!.error!.code).toBe('SYNC_COPIES_CHANGED');
      expect(done[1]!.error!.message).toMatch(/dr8's node n1 is served from another directory \(rebuilt\?\): the watermark does not vouch for it; starting afresh/);
      // With no watermark, the auto check after it compared everything, and restored the rebuilt node.
      expect(done[2]!.kind).toBe('all');
      expect((await aae('compare', m.dc, m.dr, '--json', '--pause-ms', '0')).code).toBe(0);
      const state = JSON.parse((await c.get('live/dc8/dr8/state').string())!) as { sinkId: string };
      expect(state.sinkId).toBe(`nodes:n1=${await pair.servedId('dr8')}`);
    } finally {
      await pair.stop();
    }
  }), 180_000);

test('an embedded cluster made anew under its name and directory is another copy: the warning names it, status is unhealthy', () =>
  withTempDir(async (tmp) => {
    const a = join(tmp, 'dc7');
    const b = join(tmp, 'dr7');
    await create(a, 'dc7');
    await create(b, 'dr7');
    expect((await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--json')).code).toBe(0);
    await rm(b, { recursive: true });
    await create(b, 'dr7');
    const status = await aae('sync', a, b, '--status');
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/written against other copies: dr7 is another copy \(a cluster directory made anew, or a keystore reading another source, table or address\): ignored/);
    const run = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: \S+dr7\.json was written against other copies: dr7 is another copy .*; starting afresh, with no watermark/);
    expect((await aae('sync', a, b, '--status')).code).toBe(0);
  }), 60_000);

test('moving a sync from its state file to --lock carries the watermark into etcd, and says so', () =>
  withTempDir(async (tmp) => {
    const a = join(tmp, 'dc6');
    const b = join(tmp, 'dr6');
    await create(a, 'dc6');
    await create(b, 'dr6');
    const data = join(tmp, 'd.jsonl');
    await writeFile(data, JSON.stringify({ bucket: 'b', key: 'k', value: 'v' }));
    expect((await aae('load', a, data)).code).toBe(0);
    const local = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--json');
    expect(local.code, local.stderr).toBe(0);
    const file = JSON.parse(await readFile(join(a, 'sync', 'dr6.json'), 'utf8')) as { previousSuccess: number };
    const lock = `${etcd.server.url}/moved/`;
    // Before: status says the first run will import it.
    const before = await aae('sync', a, b, '--status', '--lock', lock);
    expect(before.stdout).toMatch(/none saved yet: shown is .*dr6\.json's, which the first run imports/);
    // Judged as the state it will be: healthy, with the file's watermark.
    expect(before.code).toBe(0);
    expect(before.stdout).not.toMatch(/watermark: +none yet/);
    expect((await aae('sync', a, b, '--status', '--lock', lock, '--json')).json<{ importsStateFile: string }>().importsStateFile).toBe(join(a, 'sync', 'dr6.json'));
    // A range check needs a watermark: without the import it would refuse (nothing to compare).
    const moved = await aae('sync', a, b, '--once', 'range', '--pause-ms', '0', '--lock', lock, '--json');
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stderr).toMatch(/imported the state of .*dr6\.json \(watermark .*\) into etcd .*moved\/dc6\/dr6; the file is left as it was/);
    const inEtcd = JSON.parse((await c.get('moved/dc6/dr6/state').string())!) as { previousSuccess: number };
    expect(inEtcd.previousSuccess).toBeGreaterThanOrEqual(file.previousSuccess);
    // Once etcd holds a state, the file is not read again.
    const next = await aae('sync', a, b, '--once', 'range', '--pause-ms', '0', '--lock', lock, '--json');
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toMatch(/imported/);
    expect((await aae('sync', a, b, '--status', '--lock', lock)).stdout).not.toMatch(/imports/);
    // A state file that cannot be read is said, not taken as none (which would lose its watermark for good).
    await writeFile(join(a, 'sync', 'dr6.json'), '{ not json');
    const other = `${etcd.server.url}/moved-bad/`;
    const bad = await aae('sync', a, b, '--once', 'all', '--pause-ms', '0', '--lock', other);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/dr6\.json is not JSON.*\[SYNC_STATE_INVALID\]/);
    expect(await c.get('moved-bad/dc6/dr6/state').string()).toBeNull();
  }), 120_000);

test('keystores on two machines (each its own directory, reading the same keys) are one copy: the second runner resumes the state', () =>
  withTempDir(async (tmp) => {
    const r = await redisClient(redis.server.url);
    try {
      for (let i = 0; i < 20; i++) await r.set(`src:${i}`, `v${i}`);
    } finally {
      await r.close();
    }
    const machine = async (m: string) => {
      const src = join(tmp, m, 'src');
      const dst = join(tmp, m, 'dst');
      for (const [dir, match] of [[src, 'src:*'], [dst, 'dst:*']] as const) {
        const c = await aae('connect', dir, redis.server.url, '--match', match, '--bucket', 'kv');
        expect(c.code, c.stderr).toBe(0);
      }
      return { src, dst };
    };
    const [one, two] = [await machine('m1'), await machine('m2')];
    const lock = `${etcd.server.url}/ks/`;
    const first = await aae('sync', one.src, one.dst, '--once', 'all', '--pause-ms', '0', '--lock', lock, '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.json<{ outcome: string }>().outcome).toBe('repaired');
    const saved = JSON.parse((await c.get('ks/src/dst/state').string())!) as { previousSuccess: number };
    await expectResumed(two.src, two.dst, lock, saved.previousSuccess);
  }), 120_000);
