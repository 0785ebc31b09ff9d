import { randomBytes } from 'node:crypto';
import { AaeError } from '../../errors.js';
import { createKeystore, keystoreNameOf } from '../keystore.js';
import { DEFAULT_MAX_STOPPED_MS, DEFAULT_REBUILD_EVERY_MS, DEFAULT_REBUILD_JITTER_MS, parseSourceSpec, type SourceSpec } from '../source-spec.js';
import { RedisNode, redactRedisUrl, redisError } from './redis-connection.js';
import { RedisChangeSource } from './redis-source.js';
import { bucketOfPrefix, literalPrefix, REDIS_HASH_SCHEME } from './redis-spec.js';

/**
 * `aae connect <dir> redis://host:port [--match GLOB] [--bucket NAME]`: checks the server (it
 * answers, keyspace notifications are on, a cluster is whole), and makes the keystore directory.
 * The first `aae follow` builds it.
 */

export interface RedisConnectOptions {
  url: string;
  /** cluster.json's `name`: what compare, status and sync call the keystore (default: the directory's basename). */
  name?: string;
  /** The keys kept (SCAN MATCH glob); default '*'. */
  match?: string;
  bucket?: string;
  /** A Redis hash as a row of these fields (the mapping to a database table). */
  fields?: readonly string[];
  slot?: string;
  rebuildEveryMs?: number;
  rebuildJitterMs?: number;
  maxStoppedMs?: number;
}

export async function connectRedis(dir: string, options: RedisConnectOptions): Promise<SourceSpec> {
  const name = keystoreNameOf(dir, options.name); // refused before the source is asked anything
  const match = options.match ?? '*';
  const prefix = literalPrefix(match);
  const bucket = options.bucket ?? bucketOfPrefix(prefix);
  if (bucket === null) throw new AaeError('CONNECT_SPEC_INVALID', `bucket: --match '${match}' has no literal prefix to name the bucket after: give --bucket`, { details: { fields: ['bucket'] } });
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new AaeError('CONNECT_SPEC_INVALID', `source.url: '${redactRedisUrl(options.url)}' is not a URL`, { details: { fields: ['source.url'] } });
  }
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  const draft = {
    version: 1,
    bucket,
    rebuildEveryMs: options.rebuildEveryMs ?? DEFAULT_REBUILD_EVERY_MS,
    rebuildJitterMs: options.rebuildJitterMs ?? DEFAULT_REBUILD_JITTER_MS,
    maxStoppedMs: options.maxStoppedMs ?? DEFAULT_MAX_STOPPED_MS,
    source: {
      engine: 'redis',
      url: options.url,
      db,
      match,
      prefix,
      fields: options.fields === undefined ? null : [...options.fields],
      cluster: false,
      slot: options.slot ?? `aae_${randomBytes(4).toString('hex')}`,
      hashScheme: REDIS_HASH_SCHEME,
    },
  };
  parseSourceSpec(draft, "the new keystore's spec");
  const node = await RedisNode.connect(options.url, db);
  let cluster: boolean;
  try {
    const info = (await node.run<Buffer>(['INFO', 'cluster']).catch((e: unknown) => {
      throw redisError(e, 'INFO cluster');
    })).toString();
    cluster = /cluster_enabled:1/.test(info);
    if (cluster && db !== 0) throw new AaeError('CONNECT_SPEC_INVALID', `source.url: a Redis Cluster has only database 0, not ${db}`, { details: { fields: ['source.url'] } });
  } finally {
    await node.close();
  }
  const spec = parseSourceSpec({ ...draft, source: { ...draft.source, cluster } }, "the new keystore's spec");
  // The same checks a subscription makes: every master answers, notifications are on.
  const source = new RedisChangeSource(spec.source as Extract<SourceSpec['source'], { engine: 'redis' }>);
  try {
    const t = await source.topology();
    for (const m of t.masters) {
      const why = await source.checkNotifications(m);
      if (why !== null) throw new AaeError('SOURCE_INVALID', `${redactRedisUrl(m.url)}: ${why}`);
    }
  } finally {
    await source.close();
  }
  await createKeystore(dir, spec, { name });
  return spec;
}
