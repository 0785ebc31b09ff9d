import type pg from 'pg';
import { AaeError } from '../../errors.js';
import { ident, qualified, sourceError } from './pg-connection.js';

/**
 * What `aae connect` learns from the source's catalogue before it saves a spec, so that every
 * error a user can fix is said up front and names the thing to fix: the server's wal_level, the
 * role's REPLICATION attribute and SELECT privilege, the table, its key, the columns, and the
 * publication (created here when absent, which needs ownership of the table).
 */

export interface TableChoice {
  schema: string;
  table: string;
  /** Key columns; absent: the primary key. */
  key?: readonly string[];
  /** Value columns; absent: every column but the key and the updated-at column. */
  columns?: readonly string[];
  updatedAt?: string;
}

export interface ResolvedTable {
  schema: string;
  table: string;
  key: string[];
  columns: string[];
  updatedAt: string | null;
}

async function one<T extends pg.QueryResultRow>(c: pg.Client, sql: string, params: unknown[] = []): Promise<T | undefined> {
  try {
    return (await c.query<T>(sql, params)).rows[0];
  } catch (e) {
    throw sourceError(e, 'reading the catalogue');
  }
}

/** Checks the server and the role can feed a keystore at all. */
export async function checkServer(c: pg.Client): Promise<void> {
  const wal = await one<{ wal_level: string }>(c, 'SHOW wal_level');
  if (wal?.wal_level !== 'logical') {
    throw new AaeError('SOURCE_INVALID', `the server's wal_level is '${wal?.wal_level}', not 'logical': set wal_level = logical in postgresql.conf and restart it`);
  }
  const slots = await one<{ max_replication_slots: string }>(c, 'SHOW max_replication_slots');
  if (Number(slots?.max_replication_slots ?? 0) < 1) {
    throw new AaeError('SOURCE_INVALID', 'max_replication_slots is 0: a keystore needs one slot (two while it rebuilds)');
  }
  const role = await one<{ rolreplication: boolean | string; rolsuper: boolean | string }>(c, 'SELECT rolreplication, rolsuper FROM pg_roles WHERE rolname = current_user');
  const yes = (v: boolean | string | undefined): boolean => v === true || v === 't';
  if (!yes(role?.rolreplication) && !yes(role?.rolsuper)) {
    throw new AaeError('SOURCE_INVALID', 'the role has no REPLICATION attribute: ALTER ROLE <user> REPLICATION (a logical slot needs it)');
  }
}

/** Parses `table` or `schema.table` (no quoting: names with dots need --schema). */
export function splitTableName(name: string, schema?: string): { schema: string; table: string } {
  if (schema !== undefined) return { schema, table: name };
  const dot = name.indexOf('.');
  if (dot > 0 && dot < name.length - 1 && name.indexOf('.', dot + 1) < 0) return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
  return { schema: 'public', table: name };
}

export async function resolveTable(c: pg.Client, choice: TableChoice): Promise<ResolvedTable> {
  const rel = await one<{ oid: string; relreplident: string; can_select: boolean | string }>(
    c,
    `SELECT c.oid::text AS oid, c.relreplident, has_table_privilege(c.oid, 'SELECT') AS can_select
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [choice.schema, choice.table],
  );
  const name = `${choice.schema}.${choice.table}`;
  if (rel === undefined) throw new AaeError('SOURCE_INVALID', `table: no table ${name} in this database`);
  if (rel.can_select !== true && rel.can_select !== 't') throw new AaeError('SOURCE_INVALID', `table: the role may not SELECT from ${name} (GRANT SELECT ON ${name} TO <user>)`);
  let cols: string[];
  let pk: string[];
  try {
    cols = (await c.query<{ attname: string }>('SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum', [rel.oid])).rows.map((r) => r.attname);
    pk = (
      await c.query<{ attname: string }>(
        `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
          WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
        [rel.oid],
      )
    ).rows.map((r) => r.attname);
  } catch (e) {
    throw sourceError(e, 'reading the catalogue');
  }
  const missing = (field: string, names: readonly string[]): void => {
    const bad = names.filter((n) => !cols.includes(n));
    if (bad.length > 0) throw new AaeError('SOURCE_INVALID', `${field}: ${name} has no column ${bad.map((b) => `'${b}'`).join(', ')} (it has ${cols.join(', ')})`);
  };
  const key = choice.key === undefined ? pk : [...choice.key];
  if (key.length === 0) throw new AaeError('SOURCE_INVALID', `key: ${name} has no primary key; name the key columns with --key`);
  missing('key', key);
  if (new Set(key).size !== key.length) throw new AaeError('SOURCE_INVALID', 'key: a column is named twice');
  const samePk = pk.length === key.length && pk.every((k, i) => k === key[i]);
  // A delete carries only the replica identity's columns: the key must be them (or every column).
  if (!samePk && rel.relreplident !== 'f') {
    throw new AaeError('SOURCE_INVALID', `key: (${key.join(', ')}) is not ${name}'s primary key, so a deleted row would not carry it: use the primary key, or ALTER TABLE ${name} REPLICA IDENTITY FULL`);
  }
  if (rel.relreplident === 'n') throw new AaeError('SOURCE_INVALID', `${name} has REPLICA IDENTITY NOTHING: deletes would carry no key (ALTER TABLE ${name} REPLICA IDENTITY DEFAULT)`);
  // The updated-at column is when, not what: hashing it would make two copies of the same row
  // differ by the time each was written.
  const columns = choice.columns === undefined ? cols.filter((col) => !key.includes(col) && col !== choice.updatedAt) : [...choice.columns];
  missing('columns', columns);
  if (new Set(columns).size !== columns.length) throw new AaeError('SOURCE_INVALID', 'columns: a column is named twice');
  const overlap = columns.filter((col) => key.includes(col));
  if (overlap.length > 0) throw new AaeError('SOURCE_INVALID', `columns: ${overlap.join(', ')} is a key column (keys are not hashed as values)`);
  if (choice.updatedAt !== undefined) missing('updatedAt', [choice.updatedAt]);
  return { schema: choice.schema, table: choice.table, key, columns, updatedAt: choice.updatedAt ?? null };
}

/**
 * Makes sure `publication` publishes the table: creates it if absent (returns true: the keystore
 * owns it), checks it includes the table if present.
 */
export async function ensurePublication(c: pg.Client, publication: string, t: { schema: string; table: string }, create: boolean): Promise<boolean> {
  const exists = await one<{ n: string }>(c, 'SELECT 1 AS n FROM pg_publication WHERE pubname = $1', [publication]);
  if (exists === undefined && !create) {
    throw new AaeError('SOURCE_INVALID', `publication: ${publication} does not exist (CREATE PUBLICATION ${publication} FOR TABLE ${t.schema}.${t.table}, or leave out --publication and aae creates its own)`);
  }
  if (exists === undefined) {
    try {
      await c.query(`CREATE PUBLICATION ${ident(publication)} FOR TABLE ${qualified(t.schema, t.table)}`);
    } catch (e) {
      const err = sourceError(e, `creating publication ${publication}`);
      throw new AaeError('SOURCE_INVALID', `${err.message}: creating a publication needs ownership of ${t.schema}.${t.table}; or have its owner run CREATE PUBLICATION ${publication} FOR TABLE ${t.schema}.${t.table} and pass --publication ${publication}`, { cause: e });
    }
    return true;
  }
  const has = await one<{ n: string }>(c, 'SELECT 1 AS n FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3', [publication, t.schema, t.table]);
  if (has === undefined) throw new AaeError('SOURCE_INVALID', `publication: ${publication} does not publish ${t.schema}.${t.table} (ALTER PUBLICATION ${publication} ADD TABLE ${t.schema}.${t.table})`);
  return false;
}
