import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { followKeystore, type FollowOptions, type FollowReport } from '../../src/connect/follower.js';
import { KeystoreStore } from '../../src/connect/keystore-store.js';
import { changeSourceOf } from '../../src/connect/open-source.js';
import { readSourceSpec } from '../../src/connect/source-spec.js';
import { canonicalRowBytes, keyBytesOf } from '../../src/connect/row-bytes.js';
import { objectHashOfValue } from '../../src/hash/index.js';
import { TicTacTree } from '../../src/tictac/index.js';

export async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

export async function tempDir(): Promise<{ path: string; dispose(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'aae-connect-'));
  return { path, dispose: () => rm(path, { recursive: true, force: true }) };
}

/** `aae follow --once` as a library call. */
export async function followOnce(dir: string, options: FollowOptions = {}): Promise<FollowReport> {
  const spec = await readSourceSpec(dir);
  const source = changeSourceOf(spec);
  try {
    return await followKeystore(dir, source, { once: true, retryMs: 50, ...options });
  } finally {
    await source.close();
  }
}

/** Every key's head in the keystore, as key text → hash. */
export async function keystoreHashes(dir: string, bucket: string): Promise<Map<string, number>> {
  const store = await KeystoreStore.open(dir, bucket);
  const out = new Map<string, number>();
  try {
    for (const v of store.cluster.vnodes()) {
      for await (const batch of v.foldHashSizes({})) for (const h of batch) out.set(Buffer.from(h.key).toString(), h.hash);
    }
  } finally {
    await store.close();
  }
  return out;
}

/** Each row of `SELECT key, value` as key text → the hash a keystore must hold. */
export async function tableHashes(url: string, select: string): Promise<Map<string, number>> {
  // The settings docs/FORMAT.md names for row text, written out here (not imported) so a drift shows.
  const options = '-c DateStyle=ISO,MDY -c TimeZone=UTC -c IntervalStyle=postgres -c bytea_output=hex -c extra_float_digits=1';
  const c = new pg.Client({ connectionString: url, options, types: { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig });
  await c.connect();
  try {
    const r = await c.query<string[]>({ text: select, rowMode: 'array' });
    return new Map(r.rows.map((row) => [row[0]!, objectHashOfValue(canonicalRowBytes(row.slice(1)), 0)]));
  } finally {
    await c.end();
  }
}

/** The keystore's cached trees equal trees rebuilt from its heads (a fresh full fold). */
export async function expectTreesEqualRebuild(dir: string, bucket: string): Promise<void> {
  const store = await KeystoreStore.open(dir, bucket);
  try {
    for (const v of store.cluster.vnodes()) {
      for (const ix of v.indexNs) {
        const cached: TicTacTree = await v.fetchTree(ix);
        expect(cached.equals(await v.treeFromHeads(ix.keyspace)), `vnode ${v.id}`).toBe(true);
      }
    }
  } finally {
    await store.close();
  }
}

export const keyText = (k: string): Uint8Array => keyBytesOf([k]);

/** Drops every replication slot of the database (a test's keystores are gone; slots would hold WAL and count against the server's limit). */
export async function dropSlots(url: string): Promise<void> {
  await sql(url, 'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active');
}
