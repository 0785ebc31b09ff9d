/**
 * Migrating a node's store from layout 1 to layout 2 when it is opened.
 *
 * Layout 2 holds hash-format-2 object hashes in its heads (docs/FORMAT.md): a tombstone hashes its
 * clock (or, under `value`, its empty value) with the tombstone seed. Under layout 1 a tombstone
 * hashed like a live version, so a delete that reused the value's clock looked like the value in
 * every tree. Live heads are the same in both layouts; only tombstone heads change, and every
 * saved tree and key filter (derived from the old hashes) is dropped, to be rebuilt from the
 * heads when first needed.
 *
 * Crash-safe by order and idempotence: saved trees and filters go first (synced), then every
 * tombstone head of the node's vnodes is rewritten with its new hash (recomputed from its clock,
 * so rewriting twice gives the same bytes), and only then is the layout recorded as 2. A crash at
 * any point leaves layout 1, and the next open runs the migration again from the start.
 *
 * It reads every head of the node once (the hash and tombstone flag at fixed positions; only
 * tombstones are decoded): the first open after an upgrade takes about as long as a tree rebuild.
 */
import { tombstoneHash, type HashMethod } from '../hash/index.js';
import { decodeHead, readHashSize, type HeadHashSize } from './codec.js';
import { encodeHead } from './head-encoder.js';
import { KIND_HEAD, STORE_FORMAT_VERSION, kindPrefix, prefixEnd } from './layout.js';
import { namingNode, type BatchOp, type NodeDb } from './node-db.js';
import { dropSavedTrees } from './tree-persist.js';

/** Heads rewritten per LevelDB batch. */
const BATCH = 1000;

export interface MigrationReport {
  from: number;
  to: number;
  /** Tombstone heads rewritten with their format-2 hash. */
  rehashed: number;
}

/** Migrates the node's store if it is of an older layout; undefined when it is current. */
export async function migrateStore(db: NodeDb, params: { hashMethod: HashMethod; seed: number }, vnodes: readonly number[]): Promise<MigrationReport | undefined> {
  if (db.format === STORE_FORMAT_VERSION) return undefined;
  const from = db.format;
  await dropSavedTrees(db, vnodes);
  let rehashed = 0;
  for (const vnode of vnodes) rehashed += await rehashTombstones(db, vnode, params);
  await db.setFormat(STORE_FORMAT_VERSION);
  return { from, to: STORE_FORMAT_VERSION, rehashed };
}

async function rehashTombstones(db: NodeDb, vnode: number, params: { hashMethod: HashMethod; seed: number }): Promise<number> {
  const prefix = kindPrefix(vnode, KIND_HEAD);
  const it = db.iterator({ gte: prefix, lt: prefixEnd(prefix) });
  const peek: HeadHashSize = { hash: 0, alt: 0, deleted: false, size: 0, lastModified: 0 };
  let puts: BatchOp[] = [];
  let rehashed = 0;
  try {
    for (;;) {
      const entries = await it.nextv(BATCH);
      if (entries.length === 0) break;
      for (const [key, value] of entries) {
        try {
          readHashSize(value, peek);
          if (!peek.deleted) continue;
          const head = decodeHead(value);
          const hash = tombstoneHash(params.hashMethod, params.seed, head.clock.entries);
          if (hash === head.hash) continue;
          // A copy of the key: LevelDB hands out views of a buffer the next read reuses.
          puts.push({ type: 'put', key: Uint8Array.prototype.slice.call(key), value: encodeHead({ ...head, hash }) });
        } catch (e) {
          throw namingNode(e, db.node);
        }
      }
      if (puts.length >= BATCH) {
        await db.batch(puts);
        rehashed += puts.length;
        puts = [];
      }
    }
  } finally {
    await it.close();
  }
  await db.batch(puts);
  return rehashed + puts.length;
}
