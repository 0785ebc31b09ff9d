import pg from 'pg';
import { AaeError } from '../../errors.js';

/**
 * Connections to the source. Every connection, the snapshot reader's and the replication
 * stream's alike, runs with the same output settings, because a row is hashed from the text
 * PostgreSQL prints for each column, and the walsender prints a change's columns under its own
 * session's settings: a timestamp read by the scan and the same one decoded from the WAL must be
 * the same text. Values are kept as that text (no type parsing): `t`, not `true`; numerics in
 * full.
 */

export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  DateStyle: 'ISO,MDY',
  TimeZone: 'UTC',
  IntervalStyle: 'postgres',
  bytea_output: 'hex',
  extra_float_digits: '1',
};

const options = Object.entries(SESSION_SETTINGS)
  .map(([k, v]) => `-c ${k}=${v}`)
  .join(' ');

/** Every value as the text PostgreSQL sent. */
export const TEXT_TYPES = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

export function clientConfig(url: string, extra: Partial<pg.ClientConfig> = {}): pg.ClientConfig {
  return { connectionString: url, options, types: TEXT_TYPES, application_name: 'aae', ...extra };
}

/** A connected client; SOURCE_UNAVAILABLE when the server cannot be reached or refuses us. */
export async function connect(url: string, extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const c = new pg.Client(clientConfig(url, extra));
  c.on('error', () => undefined); // a dropped connection fails the pending query; no unhandled 'error'
  try {
    await c.connect();
  } catch (e) {
    await c.end().catch(() => undefined);
    throw sourceError(e, `cannot connect to ${redactUrl(url)}`);
  }
  return c;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

/** SQLSTATEs that mean the feed lost changes, not just its connection. */
const GAP_STATES = new Set([
  '42704', // undefined_object: the replication slot does not exist (dropped)
  '58P01', // undefined_file: the WAL the slot needs has been removed
]);
/**
 * object_not_in_prerequisite_state is a gap only when it is about the slot: it was invalidated
 * (max_slot_wal_keep_size) or can no longer give changes. The same state also says "database is
 * not currently accepting connections", an outage the feed waits out.
 */
const SLOT_LOST = /slot.*(invalidated|can no longer get changes)|(invalidated|can no longer get changes).*slot/is;

function isGap(code: string, message: string): boolean {
  return GAP_STATES.has(code) || (code === '55000' && SLOT_LOST.test(message));
}
const INPUT_STATES = new Set(['42P01', '42703', '42501', '3D000', '28000', '28P01']);

export function pgCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** A coded error for a PostgreSQL failure: FEED_GAP, SOURCE_INVALID or SOURCE_UNAVAILABLE. */
export function sourceError(e: unknown, what: string, options: { feed?: boolean } = {}): AaeError {
  if (e instanceof AaeError) return e;
  const code = pgCode(e);
  // A server's error carries a SQLSTATE (five characters); a socket's, Node's own code (ECONNREFUSED).
  const label = code === undefined ? '' : /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : ` (${code})`;
  const msg = `${what}: ${(e as Error)?.message ?? String(e)}${label}`;
  if (options.feed === true && code !== undefined && isGap(code, msg)) return new AaeError('FEED_GAP', msg, { cause: e });
  if (code !== undefined && INPUT_STATES.has(code)) return new AaeError('SOURCE_INVALID', msg, { cause: e });
  return new AaeError('SOURCE_UNAVAILABLE', msg, { cause: e });
}

export function ident(name: string): string {
  return pg.escapeIdentifier(name);
}

export function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}
