import { EtcdChangeSource } from './etcd/etcd-source.js';
import type { ChangeSource } from './feed.js';
import { PgChangeSource } from './pg/pg-source.js';
import { RedisChangeSource } from './redis/redis-source.js';
import type { SourceSpec } from './source-spec.js';

/** The change source a keystore's spec names (one engine per `source.engine`). */
export function changeSourceOf(spec: SourceSpec): ChangeSource {
  switch (spec.source.engine) {
    case 'postgresql':
      return new PgChangeSource(spec.source);
    case 'redis':
      return new RedisChangeSource(spec.source);
    case 'etcd':
      return new EtcdChangeSource(spec.source);
  }
}
