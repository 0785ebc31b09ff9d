import { AaeError, throwIfAborted } from '../../errors.js';
import { objectHashOfValue } from '../../hash/index.js';
import { canonicalRowBytes, type RowValues } from '../row-bytes.js';
import { etcdError } from './etcd-connection.js';
import type { EtcdChangeSource } from './etcd-source.js';

/**
 * Repair's writes into etcd, each conditional on the key still holding the value the decision saw
 * (its hash; null: absent). Per key: read its value and mod revision, hash the value as the
 * keystore does, and if it matches, write in a transaction that compares the mod revision (for an
 * absent key: its create revision 0). A write that landed in between fails the compare and the
 * write is skipped; nothing is ever overwritten that the decision did not see. A write without
 * `expect` is unconditional (it reads again and retries when the key changed meanwhile). The
 * report names the revision of the last write, a feed position (keystore-node.ts waits for it).
 */

export interface EtcdWrite {
  key: Uint8Array;
  /** The hash the decision saw: the key must still hash to it; null: it must still be absent; absent: no condition. */
  expect?: number | null;
  /** The value (one text or bytes: a row of one value), or null to delete. */
  row: RowValues | null;
}

export interface EtcdWriteReport {
  outcomes: Array<'written' | 'skipped'>;
  /** One per write: the value the write found (hash and size), or null where the key was absent. */
  found: Array<{ hash: number; size: number } | null>;
  written: number;
  skipped: number;
  /** The revision of the last transaction that wrote (null: none did): the feed holds every write once it is there. */
  revision: string | null;
}

/** Tries of an unconditional write whose key kept changing between its read and its transaction. */
const UNCONDITIONAL_TRIES = 5;

export async function writeEtcd(source: EtcdChangeSource, writes: readonly EtcdWrite[], options: { signal?: AbortSignal } = {}): Promise<EtcdWriteReport> {
  for (const w of writes) {
    if (w.row !== null && (w.row.length !== 1 || w.row[0] === null)) throw new AaeError('INVALID_ARGUMENT', 'an etcd value is one non-null value');
  }
  const kv = source.etcd().kv;
  const outcomes: Array<'written' | 'skipped'> = [];
  const found: EtcdWriteReport['found'] = [];
  let revision: string | null = null;
  for (const w of writes) {
    throwIfAborted(options.signal);
    const key = source.nameOf(w.key);
    const op = w.row === null ? { request_delete_range: { key } } : { request_put: { key, value: Buffer.from(typeof w.row[0] === 'string' ? Buffer.from(w.row[0]) : w.row[0]!) } };
    let outcome: 'written' | 'skipped' = 'skipped';
    let was: { hash: number; size: number } | null = null;
    for (let tries = 1; tries <= (w.expect === undefined ? UNCONDITIONAL_TRIES : 1); tries++) {
      const [now] = await source.readValues([w.key]);
      if (now === null || now === undefined) was = null;
      else {
        const bytes = canonicalRowBytes([now.value]);
        was = { hash: objectHashOfValue(bytes, 0), size: bytes.byteLength };
      }
      if (w.expect !== undefined && (was === null ? null : was.hash) !== w.expect) break;
      // The value read is still there: the key was not created since (absent) or its mod revision is unchanged.
      const compare = now == null ? { key, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 } : { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: now.modRevision };
      try {
        const r = await kv.txn({ compare: [compare], success: [op], failure: [] });
        if (r.succeeded) {
          outcome = 'written';
          revision = String(r.header.revision);
          break;
        }
      } catch (e) {
        throw etcdError(e, 'a repair write');
      }
    }
    outcomes.push(outcome);
    found.push(was);
  }
  const written = outcomes.filter((o) => o === 'written').length;
  return { outcomes, found, written, skipped: outcomes.length - written, revision };
}
