import { randomBytes } from 'node:crypto';
import { AaeError } from '../../errors.js';
import { checkKeystoreFree, createKeystore, keystoreNameOf } from '../keystore.js';
import { DEFAULT_MAX_STOPPED_MS, DEFAULT_REBUILD_EVERY_MS, DEFAULT_REBUILD_JITTER_MS, parseSourceSpec, type SourceSpec } from '../source-spec.js';
import { connect, ident, redactUrl } from './pg-connection.js';
import { checkServer, ensurePublication, resolveTable, splitTableName } from './pg-table.js';

/**
 * `aae connect <dir> postgresql://…`: checks the server, the role and the table, resolves the key
 * and value columns, makes sure a publication publishes the table, and creates the keystore
 * directory with its spec. The keystore is built by its first `aae follow`.
 */

export interface PgConnectOptions {
  url: string;
  table: string;
  /** cluster.json's `name`: what compare, status and sync call the keystore (default: the directory's basename). */
  name?: string;
  schema?: string;
  key?: readonly string[];
  columns?: readonly string[];
  updatedAt?: string;
  bucket?: string;
  /** Use this publication (it must publish the table); default: create aae_<id>. */
  publication?: string;
  /** Base name of the keystore's replication slots (default aae_<id>; rebuilds add _<generation>). */
  slot?: string;
  rebuildEveryMs?: number;
  rebuildJitterMs?: number;
  maxStoppedMs?: number;
}

export async function connectPostgres(dir: string, options: PgConnectOptions): Promise<SourceSpec> {
  const name = keystoreNameOf(dir, options.name); // refused before the source is asked anything
  const id = randomBytes(4).toString('hex');
  const { schema, table } = splitTableName(options.table, options.schema);
  const base = options.slot ?? `aae_${id}`;
  // Validate what can be validated offline first: a bad option names its field before any connection.
  const draft = {
    version: 1,
    bucket: options.bucket ?? table,
    rebuildEveryMs: options.rebuildEveryMs ?? DEFAULT_REBUILD_EVERY_MS,
    rebuildJitterMs: options.rebuildJitterMs ?? DEFAULT_REBUILD_JITTER_MS,
    maxStoppedMs: options.maxStoppedMs ?? DEFAULT_MAX_STOPPED_MS,
    source: {
      engine: 'postgresql',
      url: options.url,
      schema,
      table,
      key: options.key ?? ['placeholder'],
      columns: options.columns ?? [],
      updatedAt: options.updatedAt ?? null,
      slot: base,
      publication: options.publication ?? base,
      ownPublication: options.publication === undefined,
    },
  };
  parseSourceSpec(draft, "the new keystore's spec");
  if (base.length > 60) throw new AaeError('CONNECT_SPEC_INVALID', 'source.slot: at most 60 characters (rebuilds add a suffix)', { details: { fields: ['source.slot'] } });
  // Refused before the database is touched: a failed connect leaves nothing behind there.
  await checkKeystoreFree(dir);
  const c = await connect(options.url);
  let spec: SourceSpec;
  try {
    await checkServer(c);
    const t = await resolveTable(c, {
      schema,
      table,
      ...(options.key === undefined ? {} : { key: options.key }),
      ...(options.columns === undefined ? {} : { columns: options.columns }),
      ...(options.updatedAt === undefined ? {} : { updatedAt: options.updatedAt }),
    });
    const own = await ensurePublication(c, draft.source.publication, t, options.publication === undefined);
    spec = parseSourceSpec({ ...draft, source: { ...draft.source, key: t.key, columns: t.columns, updatedAt: t.updatedAt, ownPublication: own } }, "the new keystore's spec");
  } finally {
    await c.end().catch(() => undefined);
  }
  try {
    await createKeystore(dir, spec, { name });
  } catch (e) {
    // The publication this call made publishes for a keystore that does not exist: drop it.
    if (spec.source.engine === 'postgresql' && spec.source.ownPublication) await dropOwnPublication(options.url, spec.source.publication);
    throw e;
  }
  return spec;
}

/** Drops a publication this connect created, best effort (the keystore it was for was not made). */
async function dropOwnPublication(url: string, publication: string): Promise<void> {
  const c = await connect(url).catch(() => null);
  if (c === null) return;
  try {
    await c.query(`DROP PUBLICATION IF EXISTS ${ident(publication)}`);
  } catch {
    // left for the operator: the error that matters is the one being thrown
  } finally {
    await c.end().catch(() => undefined);
  }
}

export { redactUrl };
