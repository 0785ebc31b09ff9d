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
 * write is skipped; nothing is ever overwritten that the decision did not see.
 */

export interface EtcdWrite {
  key: Uint8Array;
  expect: number | null;
  /** The value (one text or bytes: a row of one value), or null to delete. */
  row: RowValues | null;
}

export interface EtcdWriteReport {
  outcomes: Array<'written' | 'skipped'>;
  written: number;
  skipped: number;
}

export async function writeEtcd(source: EtcdChangeSource, writes: readonly EtcdWrite[], options: { signal?: AbortSignal } = {}): Promise<EtcdWriteReport> {
  for (const w of writes) {
    if (w.row !== null && (w.row.length !== 1 || w.row[0] === null)) throw new AaeError('INVALID_ARGUMENT', 'an etcd value is one non-null value');
  }
  const kv = source.etcd().kv;
  const outcomes: Array<'written' | 'skipped'> = [];
  for (const w of writes) {
    throwIfAborted(options.signal);
    const [now] = await source.readValues([w.key]);
    const hash = now === null || now === undefined ? null : objectHashOfValue(canonicalRowBytes([now.value]), 0);
    if (hash !== w.expect) {
      outcomes.push('skipped');
      continue;
    }
    const key = source.nameOf(w.key);
    const compare = now == null ? { key, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 } : { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: now.modRevision };
    const op = w.row === null ? { request_delete_range: { key } } : { request_put: { key, value: Buffer.from(typeof w.row[0] === 'string' ? Buffer.from(w.row[0]) : w.row[0]!) } };
    try {
      const r = await kv.txn({ compare: [compare], success: [op], failure: [] });
      outcomes.push(r.succeeded ? 'written' : 'skipped');
    } catch (e) {
      throw etcdError(e, 'a repair write');
    }
  }
  const written = outcomes.filter((o) => o === 'written').length;
  return { outcomes, written, skipped: outcomes.length - written };
}
