import type { Command } from 'commander';
import { connectEtcd, connectPostgres, connectRedis, keystoreNameOf, redactRedisUrl, redactUrl, type SourceSpec } from '../../connect/index.js';
import { AaeError, isAaeError } from '../../errors.js';
import { parseDuration } from '../../sync/index.js';
import type { CommandContext } from '../io.js';
import { printJson } from '../output.js';
import { parseClusterName } from '../parse.js';

interface ConnectCliOptions {
  name?: string;
  table?: string;
  match?: string;
  prefix?: string;
  fields?: string[];
  schema?: string;
  key?: string[];
  columns?: string[];
  updatedAt?: string;
  bucket?: string;
  publication?: string;
  slot?: string;
  rebuildEvery?: number;
  rebuildJitter?: number;
  maxStopped?: number;
  json?: boolean;
}

const list = (name: string) => (raw: string): string[] => {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new AaeError('USAGE', `${name} must be a comma-separated list of column names, got '${raw}'`);
  return parts;
};

/** A duration flag ('14d', '4d', '0' for never). */
const duration = (name: string) => (raw: string): number => {
  if (raw.trim() === '0') return 0;
  try {
    return parseDuration(raw);
  } catch (e) {
    if (isAaeError(e)) throw new AaeError('USAGE', `${name}: ${e.message}`);
    throw e;
  }
};

/** URL schemes `aae connect` takes: PostgreSQL's, Redis's, etcd's. */
const KNOWN_SCHEMES = ['postgresql', 'postgres', 'redis', 'rediss', 'etcd', 'etcds', 'http', 'https'];

export function registerConnect(program: Command, ctx: CommandContext): void {
  program
    .command('connect')
    .description("make a keystore for a table of an external database: a directory like a cluster's, kept current by aae follow")
    .argument('<dir>', 'the keystore directory to create')
    .argument('<url>', "the source: 'postgresql://user@host:port/db' (a password is better in PGPASSWORD or ~/.pgpass than in the URL), 'redis://host:port[/db]' (a server or any node of a cluster), or 'etcd://host:port[,host:port…]'")
    .option('--name <name>', "the keystore's cluster name, as compare, status and sync show it and as sync --lock elects a runner by (default: the directory name); give keystores of the same tables on several machines the same --name", parseClusterName('--name'))
    .option('--table <name>', 'PostgreSQL: the table (schema.table, or --schema); required')
    .option('--match <glob>', "Redis: the keys kept, a SCAN glob (default '*'); the key is the name without the glob's literal prefix")
    .option('--fields <fields>', 'Redis: a hash as a row of these fields, comma-separated, in order (to compare with a table of those --columns)', list('--fields'))
    .option('--prefix <prefix>', 'etcd: the keys kept, those starting with this; required (the key is what follows it)')
    .option('--schema <name>', 'the schema (default public)')
    .option('--key <columns>', 'key columns, comma-separated (default: the primary key)', list('--key'))
    .option('--columns <columns>', 'the value columns hashed, comma-separated, in order (default: every column but the key and the --updated-at column)', list('--columns'))
    .option('--updated-at <column>', "a timestamp column giving each key's lastModified (default: the commit time)")
    .option('--bucket <name>', "the bucket its keys live in (default: the table name; Redis and etcd: the prefix less a trailing ':' or '/'); compare keystores of one bucket name")
    .option('--publication <name>', 'use this existing publication (default: create aae_<id>, which needs ownership of the table)')
    .option('--slot <name>', 'base name of the replication slots, or of the subscriptions (default aae_<id>; rebuilds add _<n>)')
    .option('--rebuild-every <duration>', 'rebuild from a fresh snapshot this often anyway (default 14d; 0: never)', duration('--rebuild-every'))
    .option('--rebuild-jitter <duration>', 'plus up to this much, so rebuilds spread out (default 4d)', duration('--rebuild-jitter'))
    .option('--max-stopped <duration>', 'a feed stopped longer than this rebuilds instead of catching up (default 7d; 0: no limit)', duration('--max-stopped'))
    .option('--json', 'print the saved spec as JSON only')
    .addHelpText(
      'after',
      `
PostgreSQL: the server needs wal_level = logical and a free replication slot (two while a
keystore rebuilds: max_replication_slots); the role needs REPLICATION, SELECT on the table, and
ownership of the table to create the publication (or a DBA's --publication).
Redis: keyspace notifications must be on (notify-keyspace-events KA). They are best effort: any
lost connection, and any restart of aae follow, is a gap that rebuilds the keystore. A cluster is
followed through all its masters.
etcd: the prefix must be readable; the feed is a watch from the snapshot's revision, exact unless
etcd compacts past a stopped follower's revision (then it rebuilds).
aae connect checks what it can and says what is missing. Nothing is read yet: the first aae
follow builds the keystore.
--name: aae sync --lock elects one runner per pair of cluster names, so keystores of the same
tables on several machines must be connected with the same --name (by default each takes its
directory's name).

Examples:
  $ aae connect ./ks-primary 'postgresql://aae@db1:5432/app' --table kv --key id
  $ aae connect ./ks-dr 'postgresql://aae@db2:5432/app' --table kv --key id --updated-at updated_at
  $ aae connect ./ks 'postgresql://aae@db1/app' --table shop.orders --columns status,total --bucket orders
  $ aae follow ./ks-primary --once && aae follow ./ks-dr --once && aae compare ./ks-primary ./ks-dr
  $ aae connect ./ks-cache redis://cache1:6379 --match 'kv:*' --bucket kv    # equals table kv (id, val) --columns val
  $ aae connect ./ks-users redis://cache1:6379 --match 'user:*' --fields name,city --bucket users
  $ aae connect ./ks-config etcd://etcd1:2379 --prefix /config/ --bucket config
  $ aae connect /var/lib/aae/cache-src 'postgresql://aae@db1/app' --table kv --name kv-primary    # same name on every machine`,
    )
    .action(async (dir: string, url: string, opts: ConnectCliOptions) => {
      if (dir.trim() === '') throw new AaeError('USAGE', 'the keystore directory must not be empty');
      const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
      if (scheme === undefined || !KNOWN_SCHEMES.includes(scheme)) {
        throw new AaeError('CONNECT_SPEC_INVALID', `the source URL must start with postgresql:// (or postgres://), redis:// (rediss://) or etcd:// (http://, https://); got ${scheme === undefined ? `'${url.slice(0, 40)}'` : `${scheme}://`}`);
      }
      const engine = /^rediss?$/.test(scheme) ? 'redis' : /^(etcds?|https?)$/.test(scheme) ? 'etcd' : 'postgresql';
      const foreign: Record<string, Array<keyof ConnectCliOptions>> = {
        postgresql: ['match', 'fields', 'prefix'],
        redis: ['table', 'schema', 'key', 'columns', 'updatedAt', 'publication', 'prefix'],
        etcd: ['table', 'schema', 'key', 'columns', 'updatedAt', 'publication', 'match', 'fields'],
      };
      const wrong = foreign[engine]!.filter((o) => opts[o] !== undefined);
      if (wrong.length > 0) throw new AaeError('USAGE', `${wrong.map((o) => `--${o.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} do not apply to a ${engine} source`);
      const common = {
        ...(opts.name === undefined ? {} : { name: opts.name }),
        ...(opts.bucket === undefined ? {} : { bucket: opts.bucket }),
        ...(opts.slot === undefined ? {} : { slot: opts.slot }),
        ...(opts.rebuildEvery === undefined ? {} : { rebuildEveryMs: opts.rebuildEvery }),
        ...(opts.rebuildJitter === undefined ? {} : { rebuildJitterMs: opts.rebuildJitter }),
        ...(opts.maxStopped === undefined ? {} : { maxStoppedMs: opts.maxStopped }),
      };
      let spec: SourceSpec;
      if (engine === 'redis') {
        spec = await connectRedis(dir, { url, ...common, ...(opts.match === undefined ? {} : { match: opts.match }), ...(opts.fields === undefined ? {} : { fields: opts.fields }) });
      } else if (engine === 'etcd') {
        if (opts.prefix === undefined) throw new AaeError('USAGE', 'an etcd source needs --prefix (the keys kept)');
        spec = await connectEtcd(dir, { url, prefix: opts.prefix, ...common });
      } else {
        if (opts.table === undefined) throw new AaeError('USAGE', 'a PostgreSQL source needs --table');
        spec = await connectPostgres(dir, {
          url,
          table: opts.table,
          ...common,
          ...(opts.schema === undefined ? {} : { schema: opts.schema }),
          ...(opts.key === undefined ? {} : { key: opts.key }),
          ...(opts.columns === undefined ? {} : { columns: opts.columns }),
          ...(opts.updatedAt === undefined ? {} : { updatedAt: opts.updatedAt }),
          ...(opts.publication === undefined ? {} : { publication: opts.publication }),
        });
      }
      const redacted = engine === 'redis' ? redactRedisUrl(url) : redactUrl(url);
      if (redacted !== url) ctx.io.stderr.write('warning: the URL holds a password, and source.json keeps it: prefer PGPASSWORD or ~/.pgpass (PostgreSQL), or a URL without one where the server allows\n');
      const shown = { ...spec, source: 'url' in spec.source ? { ...spec.source, url: redacted } : spec.source };
      const name = keystoreNameOf(dir, opts.name);
      if (opts.json) {
        printJson(ctx.io.stdout, { dir, name, spec: shown });
        return;
      }
      const s = spec.source;
      const what =
        s.engine === 'postgresql'
          ? `${s.schema}.${s.table} on ${redacted}, key (${s.key.join(', ')}), hashing (${s.columns.join(', ')}), bucket '${spec.bucket}', publication ${s.publication}${s.ownPublication ? ' (created)' : ''}`
          : s.engine === 'redis'
            ? `keys '${s.match}' on ${redacted}${s.cluster ? ' (a cluster: every master is followed)' : ''}, key = name less '${s.prefix}'${s.fields === null ? '' : `, hashes as rows of (${s.fields.join(', ')})`}, bucket '${spec.bucket}'`
            : `keys under '${s.prefix}' on ${s.endpoints.join(',')}, bucket '${spec.bucket}'`;
      ctx.io.stdout.write(`created keystore '${name}' at ${dir}: ${what}\nnext: aae follow ${dir}   (builds it, then keeps it current; --once to build or catch up and exit)\n`);
    });
}
