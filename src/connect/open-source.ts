import { EtcdAccess } from './etcd/etcd-access.js';
import { EtcdChangeSource } from './etcd/etcd-source.js';
import type { ChangeSource } from './feed.js';
import { PgAccess } from './pg/pg-access.js';
import { PgChangeSource } from './pg/pg-source.js';
import { RedisAccess } from './redis/redis-access.js';
import { RedisChangeSource } from './redis/redis-source.js';
import type { SourceAccess } from './source-access.js';
import type { SourceSpec } from './source-spec.js';

/** The change source a keystore's spec names (one engine per `source.engine`). */
export function changeSourceOf(spec: SourceSpec): ChangeSource {
  return openSource(spec).feed;
}

/** An engine's two sides for a keystore node: its change feed, and reads and compare-and-set writes over the same connections. */
export interface EngineSource {
  feed: ChangeSource;
  access: SourceAccess;
}

/** Both sides of the engine a keystore's spec names; close `access` first, then `feed` (which holds the shared connections). */
export function openSource(spec: SourceSpec): EngineSource {
  switch (spec.source.engine) {
    case 'postgresql': {
      const feed = new PgChangeSource(spec.source);
      return { feed, access: new PgAccess(feed) };
    }
    case 'redis': {
      const feed = new RedisChangeSource(spec.source);
      return { feed, access: new RedisAccess(feed) };
    }
    case 'etcd': {
      const feed = new EtcdChangeSource(spec.source);
      return { feed, access: new EtcdAccess(feed) };
    }
  }
}

/** The engine's reads and compare-and-set writes alone, over connections of their own (close to release them). */
export function sourceAccessOf(spec: SourceSpec): SourceAccess {
  const { feed, access } = openSource(spec);
  return {
    holdsKey: (key) => access.holdsKey(key),
    checkValue: (value) => access.checkValue(value),
    read: (keys) => access.read(keys),
    write: (writes, options) => access.write(writes, options),
    close: async () => {
      await access.close();
      await feed.close();
    },
  };
}
