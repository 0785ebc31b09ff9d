import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { compareClusters } from '../../src/aae/index.js';
import { followKeystore, type FollowLog, type FollowReport } from '../../src/connect/follower.js';
import { readState } from '../../src/connect/keystore-state.js';
import { KeystoreStore } from '../../src/connect/keystore-store.js';
import { changeSourceOf } from '../../src/connect/open-source.js';
import { connectPostgres } from '../../src/connect/pg/pg-connect.js';
import { canonicalRowBytes, keyBytesOf } from '../../src/connect/row-bytes.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';
import { initHash, objectHashOfValue } from '../../src/hash/index.js';
import { usePostgres } from '../support/postgres.js';
import { expectTreesEqualRebuild, followOnce, keystoreHashes, sql, tableHashes, tempDir } from './pg-helpers.js';

/**
 * The CDC validation workload (issue 12), from the replication prototype it is modelled on:
 * N logical writers × M keys, each key written v then v+1, all writers at once over a pool,
 * while keystores follow: one whose feed started before the workload, one started during it,
 * one built after it. In the middle, the first feed's connection is killed (it must reconnect
 * and resume) and the second's slot is dropped (a gap: unreliable, rebuilt, swapped, while the
 * writes go on). A second database receives the same writes but misses the v+1 of some keys.
 *
 * Afterwards: every keystore's trees equal a fresh fold of its heads; every key reads v+1
 * through each keystore's view; and a compare of the first database's keystore with the
 * second's reports exactly the keys the second missed.
 *
 * N = 400 as in the issue; M is scaled for CI (the M = 1000 is 800k writes:
 * CDC_KEYS_PER_WRITER=1000 runs it).
 */

const WRITERS = 400;
const KEYS_PER_WRITER = Number(process.env.CDC_KEYS_PER_WRITER ?? 10);
const POOL = 16;
const MISSED = 37;

const pgs = usePostgres();
let dir: { path: string; dispose(): Promise<void> };

beforeAll(async () => {
  await initHash();
  dir = await tempDir();
});
afterAll(async () => {
  await dir.dispose();
});

const keyName = (w: number, i: number): string => `w${w}-k${i}`;
const valueOf = (key: string, v: number): string => `${key}:v${v}`;

/** A continuous follower (aae follow), stopped by `stop()`. */
function startFollower(path: string): { logs: FollowLog[]; stop(): Promise<FollowReport | undefined> } {
  const logs: FollowLog[] = [];
  const ac = new AbortController();
  const run = (async () => {
    const source = changeSourceOf(await readSourceSpec(path));
    try {
      return await followKeystore(path, source, { signal: ac.signal, retryMs: 100, statusEveryMs: 100, log: (l) => logs.push(l) });
    } finally {
      await source.close();
    }
  })();
  run.catch(() => undefined);
  return {
    logs,
    async stop() {
      ac.abort();
      return run.catch((e: unknown) => {
        if ((e as { code?: string }).code !== 'ABORTED') throw e;
        return undefined;
      });
    },
  };
}

async function waitFor(what: string, cond: () => Promise<boolean>, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Kills the walsender of a keystore's current slot; with `drop`, drops the slot too (retrying while it is active). */
async function breakFeed(url: string, path: string, drop: boolean): Promise<string> {
  const { subscription } = await readState(path);
  await waitFor(`slot ${subscription} to be active`, async () => (await sql(url, 'SELECT active FROM pg_replication_slots WHERE slot_name = $1', [subscription])).rows[0]?.active === true);
  for (let i = 0; i < 200; i++) {
    await sql(url, 'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [subscription]);
    if (!drop) return subscription!;
    try {
      await sql(url, 'SELECT pg_drop_replication_slot($1)', [subscription]);
      return subscription!;
    } catch {
      await new Promise((r) => setTimeout(r, 10)); // still active for a moment, or reconnected: again
    }
  }
  throw new Error(`could not drop ${subscription}`);
}

test(`CDC workload: ${WRITERS} writers × ${KEYS_PER_WRITER} keys, v then v+1, feeds before/during/after, a disconnect and a dropped slot`, async () => {
  const a = await pgs.db('cdc_a');
  const b = await pgs.db('cdc_b');
  for (const u of [a, b]) await sql(u, 'CREATE TABLE kv (id text PRIMARY KEY, val text NOT NULL)');
  const total = WRITERS * KEYS_PER_WRITER;
  // The keys database B never gets v+1 for: spread over the writers.
  const missed = new Set(Array.from({ length: MISSED }, (_, j) => keyName((j * 97) % WRITERS, j % KEYS_PER_WRITER)));
  expect(missed.size).toBe(MISSED);

  const before = join(dir.path, 'before');
  const during = join(dir.path, 'during');
  const after = join(dir.path, 'after');
  const other = join(dir.path, 'other');
  await connectPostgres(before, { url: a, table: 'kv', slot: 'cdc_before' });
  const fBefore = startFollower(before);
  await waitFor('the first keystore to be built', async () => (await readState(before)).phase === 'ready');

  const pools = [a, b].map((u) => new pg.Pool({ connectionString: u, max: POOL / 2 }));
  // Barriers: every writer stops at 20%, 50% and 75% of its keys until the test has acted there,
  // so each event happens in the middle of the workload by construction, not by timing.
  const stops = [0.2, 0.5, 0.75].map((f) => Math.floor(KEYS_PER_WRITER * f));
  const gates = stops.map(() => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    return { reached: 0, opened, open };
  });
  let done = 0;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; i < KEYS_PER_WRITER; i++) {
      const g = stops.indexOf(i);
      if (g >= 0) {
        gates[g]!.reached++;
        await gates[g]!.opened;
      }
      const key = keyName(w, i);
      await Promise.all([
        pools[0]!.query('INSERT INTO kv VALUES ($1, $2)', [key, valueOf(key, 1)]),
        pools[1]!.query('INSERT INTO kv VALUES ($1, $2)', [key, valueOf(key, 1)]),
      ]);
      await pools[0]!.query('UPDATE kv SET val = $2 WHERE id = $1', [key, valueOf(key, 2)]);
      if (!missed.has(key)) await pools[1]!.query('UPDATE kv SET val = $2 WHERE id = $1', [key, valueOf(key, 2)]);
      done++;
    }
  };
  const atGate = async (g: number): Promise<void> => waitFor(`every writer at barrier ${g}`, async () => gates[g]!.reached === WRITERS);
  const workload = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  let fDuring: ReturnType<typeof startFollower> | undefined;
  let dropped = '';
  try {
    await atGate(0);
    await connectPostgres(during, { url: a, table: 'kv', slot: 'cdc_during' });
    fDuring = startFollower(during); // builds while the writes go on
    gates[0]!.open();
    await atGate(1);
    await breakFeed(a, before, false); // a forced disconnect: reconnect and resume
    gates[1]!.open();
    await atGate(2);
    await waitFor('the second keystore to be built', async () => (await readState(during)).phase === 'ready');
    expect(done).toBeLessThan(total);
    dropped = await breakFeed(a, during, true); // a dropped slot: a gap, found and rebuilt while the rest is written
    gates[2]!.open();
    await workload;
    await waitFor('the second keystore to rebuild', async () => {
      const s = await readState(during);
      return s.reliable && s.subscription !== dropped && s.phase === 'ready';
    });
  } finally {
    for (const g of gates) g.open();
    await workload.catch(() => undefined);
    await Promise.all(pools.map((p) => p.end()));
  }
  await fBefore.stop();
  await fDuring!.stop();
  const codes = (f: { logs: FollowLog[] }): string[] => f.logs.map((l) => l.code);
  expect(codes(fBefore), 'a lost connection is not a gap: reconnect and resume').toContain('CN005');
  expect(codes(fBefore).filter((c) => c === 'CN004' || c === 'CN001'), 'no gap, no rebuild after the first build').toEqual(['CN001']);
  expect(codes(fDuring!).filter((c) => c === 'CN004'), 'the dropped slot is one gap').toHaveLength(1);
  expect(codes(fDuring!).filter((c) => c === 'CN002'), 'built, then rebuilt and swapped').toHaveLength(2);

  // Catch every keystore up to the end, and build the ones made after the workload.
  await connectPostgres(after, { url: a, table: 'kv', slot: 'cdc_after' });
  await connectPostgres(other, { url: b, table: 'kv', slot: 'cdc_other' });
  for (const p of [before, during, after, other]) {
    const r = await followOnce(p);
    expect(r.reliable).toBe(true);
  }

  const expectedA = await tableHashes(a, 'SELECT id, val FROM kv');
  expect(expectedA.size).toBe(total);
  const keys = [...expectedA.keys()].map((k) => keyBytesOf([k]));
  for (const p of [before, during, after]) {
    expect(await keystoreHashes(p, 'kv'), p).toEqual(expectedA);
    await expectTreesEqualRebuild(p, 'kv');
    // Every key reads v+1 through the keystore's view.
    const store = await KeystoreStore.open(p, 'kv');
    try {
      const heads = await store.read(keys);
      heads.forEach((h, i) => {
        const key = Buffer.from(keys[i]!).toString();
        expect(h?.hash, `${p} ${key}`).toBe(objectHashOfValue(canonicalRowBytes([valueOf(key, 2)]), 0));
      });
    } finally {
      await store.close();
    }
  }
  expect(await keystoreHashes(other, 'kv')).toEqual(await tableHashes(b, 'SELECT id, val FROM kv'));
  await expectTreesEqualRebuild(other, 'kv');

  // The primary's keystore against the second database's: exactly the keys it missed.
  const ka = await KeystoreStore.open(before, 'kv');
  const kb = await KeystoreStore.open(other, 'kv');
  try {
    const r = await compareClusters(ka.cluster, kb.cluster, { pauseMs: 0, maxResults: 10_000 });
    expect(r.inSync).toBe(false);
    expect(r.differences.map((d) => Buffer.from(d.key).toString()).sort()).toEqual([...missed].sort());
    expect(new Set(r.differences.map((d) => d.ahead))).toEqual(new Set(['concurrent'])); // rows carry no causality
  } finally {
    await ka.close();
    await kb.close();
  }
}, 600_000);
