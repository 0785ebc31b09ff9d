import type { Command } from 'commander';
import { connectPostgres, redactUrl } from '../../connect/index.js';
import { AaeError, isAaeError } from '../../errors.js';
import { parseDuration } from '../../sync/index.js';
import type { CommandContext } from '../io.js';
import { printJson } from '../output.js';

interface ConnectCliOptions {
  table: string;
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

export function registerConnect(program: Command, ctx: CommandContext): void {
  program
    .command('connect')
    .description("make a keystore for a table of an external database: a directory like a cluster's, kept current by aae follow")
    .argument('<dir>', 'the keystore directory to create')
    .argument('<url>', "the source: 'postgresql://user@host:port/db' (a password is better in PGPASSWORD or ~/.pgpass than in the URL)")
    .requiredOption('--table <name>', 'the table (schema.table, or --schema)')
    .option('--schema <name>', 'the schema (default public)')
    .option('--key <columns>', 'key columns, comma-separated (default: the primary key)', list('--key'))
    .option('--columns <columns>', 'the value columns hashed, comma-separated, in order (default: every column but the key)', list('--columns'))
    .option('--updated-at <column>', "a timestamp column giving each key's lastModified (default: the commit time)")
    .option('--bucket <name>', 'the bucket its keys live in (default: the table name); compare keystores of one bucket name')
    .option('--publication <name>', 'use this existing publication (default: create aae_<id>, which needs ownership of the table)')
    .option('--slot <name>', 'base name of the replication slots (default aae_<id>; rebuilds add _<n>)')
    .option('--rebuild-every <duration>', 'rebuild from a fresh snapshot this often anyway (default 14d; 0: never)', duration('--rebuild-every'))
    .option('--rebuild-jitter <duration>', 'plus up to this much, so rebuilds spread out (default 4d)', duration('--rebuild-jitter'))
    .option('--max-stopped <duration>', 'a feed stopped longer than this rebuilds instead of catching up (default 7d; 0: no limit)', duration('--max-stopped'))
    .option('--json', 'print the saved spec as JSON only')
    .addHelpText(
      'after',
      `
The server needs wal_level = logical and a free replication slot (two while a keystore rebuilds:
max_replication_slots); the role needs REPLICATION, SELECT on the table, and ownership of the
table to create the publication (or a DBA's --publication). aae connect checks all of it and
says what is missing. Nothing is read yet: the first aae follow builds the keystore.

Examples:
  $ aae connect ./ks-primary 'postgresql://aae@db1:5432/app' --table kv --key id
  $ aae connect ./ks-dr 'postgresql://aae@db2:5432/app' --table kv --key id --updated-at updated_at
  $ aae connect ./ks 'postgresql://aae@db1/app' --table shop.orders --columns status,total --bucket orders
  $ aae follow ./ks-primary --once && aae follow ./ks-dr --once && aae compare ./ks-primary ./ks-dr`,
    )
    .action(async (dir: string, url: string, opts: ConnectCliOptions) => {
      if (dir.trim() === '') throw new AaeError('USAGE', 'the keystore directory must not be empty');
      const spec = await connectPostgres(dir, {
        url,
        table: opts.table,
        ...(opts.schema === undefined ? {} : { schema: opts.schema }),
        ...(opts.key === undefined ? {} : { key: opts.key }),
        ...(opts.columns === undefined ? {} : { columns: opts.columns }),
        ...(opts.updatedAt === undefined ? {} : { updatedAt: opts.updatedAt }),
        ...(opts.bucket === undefined ? {} : { bucket: opts.bucket }),
        ...(opts.publication === undefined ? {} : { publication: opts.publication }),
        ...(opts.slot === undefined ? {} : { slot: opts.slot }),
        ...(opts.rebuildEvery === undefined ? {} : { rebuildEveryMs: opts.rebuildEvery }),
        ...(opts.rebuildJitter === undefined ? {} : { rebuildJitterMs: opts.rebuildJitter }),
        ...(opts.maxStopped === undefined ? {} : { maxStoppedMs: opts.maxStopped }),
      });
      if (redactUrl(url) !== url) ctx.io.stderr.write('warning: the URL holds a password, and source.json keeps it: prefer PGPASSWORD or ~/.pgpass\n');
      if (opts.json) {
        printJson(ctx.io.stdout, { dir, spec: { ...spec, source: { ...spec.source, url: redactUrl(spec.source.url) } } });
        return;
      }
      const s = spec.source;
      ctx.io.stdout.write(
        `created keystore at ${dir}: ${s.schema}.${s.table} on ${redactUrl(s.url)}, key (${s.key.join(', ')}), ` +
          `hashing (${s.columns.join(', ')}), bucket '${spec.bucket}', publication ${s.publication}${s.ownPublication ? ' (created)' : ''}\n` +
          `next: aae follow ${dir}   (builds it, then keeps it current; --once to build or catch up and exit)\n`,
      );
    });
}
