/**
 * Which copy of a keystore's data a sync state vouches for (src/cluster/copy-id.ts says why a sync
 * asks). A keystore holds no data of its own: it mirrors its source, so a watermark found between
 * two keystores vouches for their databases, whichever keystore directory compared them. Its copy
 * is therefore named by what it reads — the engine, where the source is (hosts and database, no
 * user or password), and which keys and values it hashes into which bucket — and not by its
 * directory: two sync runners on two machines, each with its own keystore of the same table,
 * resume one state, and so does a keystore rebuilt into a new directory.
 *
 * Left out on purpose: the subscription (each keystore needs a replication slot of its own), the
 * rebuild schedule, and credentials or options in the URL. A source reached by two spellings of
 * its address (a name and an IP, a port written or left to its default) names two copies: runners
 * that spell it differently start afresh at each takeover, with a warning naming the cluster.
 */
import { createHash } from 'node:crypto';
import type { SourceSpec } from './source-spec.js';

/** 32 hex digits, like a directory's cluster.id. */
export function sourceCopyId(spec: SourceSpec): string {
  const s = spec.source;
  const where = (() => {
    switch (s.engine) {
      case 'postgresql':
        return { at: hostsAndPath(s.url), schema: s.schema, table: s.table, key: s.key, columns: s.columns, updatedAt: s.updatedAt };
      case 'redis':
        return { at: hostsAndPath(s.url), db: s.db, match: s.match, fields: s.fields, cluster: s.cluster, hashScheme: s.hashScheme };
      case 'etcd':
        return { at: s.endpoints.map((e) => hostsAndPath(e)).sort(), prefix: s.prefix };
    }
  })();
  const canonical = JSON.stringify({ engine: s.engine, bucket: spec.bucket, where });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/**
 * `host:port[,host:port…]/path` of a URL, lower-cased hosts, without scheme, credentials or query,
 * except a `host` or `port` given as a query parameter (PostgreSQL's Unix socket folder).
 */
function hostsAndPath(url: string): string {
  // Credentials end at the last '@' before the path (a password may hold an '@'), as URL parsers read it.
  const m = /^[a-z]+:\/\/(?:[^/?#]*@)?([^@/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(url);
  if (m === null) return url;
  const query = new URLSearchParams(m[3] ?? '');
  const extra = ['host', 'port'].flatMap((k) => (query.has(k) ? [`${k}=${query.get(k)}`] : []));
  // Several hosts (a PostgreSQL list, Redis Cluster seeds) in any order are the same source.
  const hosts = m[1]!.toLowerCase().split(',').sort().join(',');
  return `${hosts}${m[2] === '/' ? '' : m[2]!}${extra.length === 0 ? '' : `?${extra.join('&')}`}`;
}
