import { AaeError } from '../errors.js';
import { TicTacTree, type TreeSize } from '../tictac/index.js';
import { crc32 } from '../tictac/crc32.js';
import { KIND_FILTER, KIND_TREE, kindPrefix, prefixEnd } from './layout.js';
import type { BatchOp, NodeDb } from './node-db.js';

/**
 * A cached tree as it is saved on clean close (docs/STORE.md):
 *
 *   'A' 'A' 'E' 'T' ‖ version (1) ‖ crc32 of everything after it (u32 BE) ‖ tree export
 *
 * The export carries its own checksum too; this one also covers the framing, and a record of the
 * wrong version, a truncated record or a tree of another size is simply not restored: the vnode
 * rebuilds that keyspace from its heads instead. Saved trees are deleted when they are read, which
 * is always before the vnode's first write, so a crash (no clean close) can never revive a stale
 * tree.
 */

const MAGIC = Uint8Array.of(0x41, 0x41, 0x45, 0x54); // "AAET"
export const TREE_RECORD_VERSION = 1;
const HEADER = MAGIC.length + 1 + 4;

export function encodeTreeRecord(tree: TicTacTree): Uint8Array {
  const body = tree.export();
  const out = new Uint8Array(HEADER + body.length);
  out.set(MAGIC, 0);
  out[4] = TREE_RECORD_VERSION;
  out.set(body, HEADER);
  new DataView(out.buffer).setUint32(5, crc32(out, HEADER));
  return out;
}

/** The tree of a saved record, or an explanation of why it cannot be restored. */
export type RestoredTree = { ok: true; tree: TicTacTree } | { ok: false; reason: string };

export function decodeTreeRecord(bytes: Uint8Array, expected: TreeSize): RestoredTree {
  if (bytes.length < HEADER) return { ok: false, reason: 'truncated header' };
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return { ok: false, reason: 'bad magic' };
  if (bytes[4] !== TREE_RECORD_VERSION) return { ok: false, reason: `unknown record version ${bytes[4]}` };
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5);
  if (crc32(bytes, HEADER) !== stored) return { ok: false, reason: 'checksum mismatch' };
  let tree: TicTacTree;
  try {
    // A fresh copy: LevelDB hands out Buffers, whose slice() is a view into a shared pool, and the
    // import reads the export as whole words of its own buffer.
    tree = TicTacTree.import(new Uint8Array(bytes.subarray(HEADER)));
  } catch (e) {
    if (e instanceof AaeError) return { ok: false, reason: e.message };
    throw e;
  }
  if (tree.size !== expected) return { ok: false, reason: `tree size ${tree.size}, expected ${expected}` };
  return { ok: true, tree };
}

/**
 * Deletes every saved tree and key filter of these vnodes (one synced batch): when they can no
 * longer be trusted to describe the heads (the store was migrated, or LevelDB dropped damaged
 * records when it opened). Each is then rebuilt from the heads when first needed.
 */
export async function dropSavedTrees(db: NodeDb, vnodes: readonly number[]): Promise<number> {
  const dels: BatchOp[] = [];
  for (const vnode of vnodes) {
    for (const kind of [KIND_TREE, KIND_FILTER] as const) {
      const prefix = kindPrefix(vnode, kind);
      const it = db.iterator({ gte: prefix, lt: prefixEnd(prefix) }, { values: false });
      try {
        for (let e = await it.next(); e !== undefined; e = await it.next()) dels.push({ type: 'del', key: e[0] });
      } finally {
        await it.close();
      }
    }
  }
  await db.batch(dels, { sync: true });
  return dels.length;
}
