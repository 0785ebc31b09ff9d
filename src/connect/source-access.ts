import { objectHashOfValue } from '../hash/index.js';
import { EtcdChangeSource } from './etcd/etcd-source.js';
import { writeEtcd } from './etcd/etcd-repair.js';
import { PgChangeSource } from './pg/pg-source.js';
import { writeRows } from './pg/pg-repair.js';
import { RedisChangeSource } from './redis/redis-source.js';
import { writeRedis } from './redis/redis-repair.js';
import { canonicalRowBytes, decodeRowBytes } from './row-bytes.js';
import type { SourceSpec } from './source-spec.js';

/**
 * What a keystore node needs from its source besides the feed, the same for every engine, in the
 * keystore's own terms (canonical bytes and their hash, docs/FORMAT.md):
 * - `read`: each key's current value as canonical bytes with its hash (null: absent), what the
 *   node's object reads answer;
 * - `write`: each write lands only while the key still hashes to what the decision saw (`expect`;
 *   null: absent), with the canonical bytes to store (null: delete), what the node's compare-and-set
 *   writes (`ifHeld`) do. Outcomes per key: `written` or `skipped`.
 * Canonical bytes go back into each engine as its own shape: a row's columns (PostgreSQL), a
 * string, a hash's mapped fields or a collection of the same type (Redis), a value (etcd).
 */

export interface SourceValue {
  bytes: Uint8Array;
  hash: number;
}

export interface SourceWrite {
  key: Uint8Array;
  expect: number | null;
  value: Uint8Array | null;
}

export interface SourceAccess {
  read(keys: readonly Uint8Array[]): Promise<Array<SourceValue | null>>;
  write(writes: readonly SourceWrite[]): Promise<Array<'written' | 'skipped'>>;
  close(): Promise<void>;
}

const valueOf = (bytes: Uint8Array): SourceValue => ({ bytes, hash: objectHashOfValue(bytes, 0) });

export function sourceAccessOf(spec: SourceSpec): SourceAccess {
  const s = spec.source;
  switch (s.engine) {
    case 'postgresql': {
      const src = new PgChangeSource(s);
      return {
        read: async (keys) => (await src.fetchRows(keys)).map((r) => (r === null ? null : valueOf(canonicalRowBytes(r.values)))),
        write: async (writes) =>
          (await writeRows(s, writes.map((w) => ({ key: w.key, expect: w.expect, row: w.value === null ? null : decodeRowBytes(w.value, s.columns.length) })))).outcomes,
        close: () => src.close(),
      };
    }
    case 'redis': {
      const src = new RedisChangeSource(s);
      return {
        read: async (keys) => (await src.readValues(keys)).map((v) => (v === null ? null : { bytes: v.bytes!, hash: v.digest.hash })),
        write: async (writes) => (await writeRedis(src, writes.map((w) => ({ key: w.key, expect: w.expect, value: w.value === null ? null : { canonical: w.value } })))).outcomes,
        close: () => src.close(),
      };
    }
    case 'etcd': {
      const src = new EtcdChangeSource(s);
      return {
        read: async (keys) => (await src.readValues(keys)).map((v) => (v === null ? null : valueOf(v.value))),
        write: async (writes) => (await writeEtcd(src, writes.map((w) => ({ key: w.key, expect: w.expect, row: w.value === null ? null : [w.value] })))).outcomes,
        close: () => src.close(),
      };
    }
  }
}
