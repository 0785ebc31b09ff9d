import { AaeError, isAaeError, quote } from '../errors.js';
import { validateBucket } from '../hash/index.js';
import { MAX_TIME_MS, isValidTime, makeClock, type Clock } from './clock.js';
import { keyFromJson, normaliseIndexes, valueFromJson, type IndexEntry } from './object.js';

/**
 * One line of a load file (JSONL), as DESIGN.md fixes it:
 *
 *   {"bucket", "key", "value"? (UTF-8 text) | "base64"?, "clock"?: [["actor", counter], …],
 *    "lastModified"? (ms), "deleted"?: true, "indexes"?: [["name", "term"], …]}
 *
 * `key` is text or {"base64": …}. Unknown fields are refused (a typo must not load data silently
 * wrong). A record without a clock asks the cluster for a new version; one with a clock keeps it.
 */
export interface LoadRecord {
  bucket: string;
  key: Uint8Array;
  value: Uint8Array;
  /** Absent: the cluster makes a new version (its actor, next counter). */
  clock: Clock | undefined;
  lastModified: number | undefined;
  deleted: boolean;
  indexes: IndexEntry[];
}

const FIELDS = new Set(['bucket', 'key', 'value', 'base64', 'clock', 'lastModified', 'deleted', 'indexes']);

/** Parses and validates one line. Any problem is an AaeError LOAD_INVALID whose message says what. */
export function parseLoadRecord(line: string): LoadRecord {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw invalid('not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('must be a JSON object');
  const o = json as Record<string, unknown>;
  for (const f of Object.keys(o)) if (!FIELDS.has(f)) throw invalid(`unknown field ${quote(f)}`);

  try {
    if (typeof o.bucket !== 'string') throw invalid('bucket must be a string');
    validateBucket(o.bucket);
    if (o.key === undefined) throw invalid('key is required');
    const key = keyFromJson(o.key);

    if (o.deleted !== undefined && o.deleted !== true && o.deleted !== false) throw invalid('deleted must be true or false');
    const deleted = o.deleted === true;
    if (o.value !== undefined && o.base64 !== undefined) throw invalid("give 'value' or 'base64', not both");
    if (o.value !== undefined && typeof o.value !== 'string') throw invalid("value must be UTF-8 text (use 'base64' for bytes)");
    if (o.base64 !== undefined && typeof o.base64 !== 'string') throw invalid('base64 must be a string');
    const value =
      o.value !== undefined ? valueFromJson(o.value) : o.base64 !== undefined ? valueFromJson({ base64: o.base64 }) : new Uint8Array(0);
    if (deleted && value.byteLength > 0) throw invalid('a tombstone (deleted: true) carries no value');

    let lastModified: number | undefined;
    if (o.lastModified !== undefined) {
      if (!isValidTime(o.lastModified)) throw invalid(`lastModified must be an integer in 0..${MAX_TIME_MS} (ms since the epoch)`);
      lastModified = o.lastModified;
    }

    let clock: Clock | undefined;
    if (o.clock !== undefined) {
      if (!Array.isArray(o.clock)) throw invalid('clock must be a list of ["actor", counter] pairs');
      clock = makeClock(o.clock as Array<readonly [string, number]>, lastModified ?? 0);
      if (clock.entries.length === 0) throw invalid('clock must have at least one non-zero counter');
    }

    let indexes: IndexEntry[] = [];
    if (o.indexes !== undefined) {
      if (!Array.isArray(o.indexes) || !o.indexes.every((e) => Array.isArray(e) && e.length === 2)) {
        throw invalid('indexes must be a list of ["name", "term"] pairs');
      }
      indexes = normaliseIndexes(o.indexes as IndexEntry[]);
      if (deleted && indexes.length > 0) throw invalid('a tombstone (deleted: true) carries no index entries');
    }
    return { bucket: o.bucket, key, value, clock, lastModified, deleted, indexes };
  } catch (e) {
    if (isAaeError(e, 'LOAD_INVALID')) throw e;
    if (e instanceof AaeError) throw new AaeError('LOAD_INVALID', e.message, { cause: e });
    throw e;
  }
}

function invalid(message: string): AaeError {
  return new AaeError('LOAD_INVALID', message);
}
