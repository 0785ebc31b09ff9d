/**
 * Filters for plugins: the query fields the built-in range folds share (bucket or buckets, a key
 * range, a modified range), validated, and the ModuleFilter they make — the store then reads only
 * what matches, so a plugin never scans what it would throw away. Plus small tests a fold function
 * can apply to what it is given (a key prefix), for what a store filter cannot express.
 */
import { z } from 'zod';
import type { ModuleFilter } from '../fold/index.js';
import { parseWith } from '../fold/index.js';
import { keyRangeSchema, modifiedRangeSchema } from '../fold/modules/query-parts.js';

const bucketSchema = z.string().min(1).refine((s) => !s.includes('\0') && s.isWellFormed(), { error: 'must be text without NUL' });

/** The range fields, for a plugin's own zod schema: `z.strictObject({...rangeFields, mine: z.number()})`. */
export const rangeFields = {
  bucket: bucketSchema.optional(),
  buckets: z.array(bucketSchema).min(1).max(10_000).optional(),
  keyRange: keyRangeSchema.optional(),
  modifiedRange: modifiedRangeSchema.optional(),
};

export interface RangeQuery {
  bucket?: string | undefined;
  buckets?: string[] | undefined;
  keyRange?: { start: Uint8Array; end: Uint8Array } | undefined;
  modifiedRange?: { start: number; end: number } | undefined;
}

const rangeSchema = z.strictObject(rangeFields);

/** Validates a query of the range fields only (unknown fields refused): FOLD_QUERY_INVALID naming each bad field. */
export function parseRange(module: string, input: unknown): RangeQuery {
  return parseWith(module, rangeSchema, input);
}

/** The store filter of a range query's fields. */
export function rangeFilter(q: RangeQuery): ModuleFilter {
  const f: ModuleFilter = {};
  const buckets = q.buckets ?? (q.bucket === undefined ? undefined : [q.bucket]);
  if (buckets !== undefined) f.buckets = buckets;
  if (q.keyRange !== undefined) f.keyRange = q.keyRange;
  if (q.modifiedRange !== undefined) f.modifiedRange = q.modifiedRange;
  return f;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

/** A key as text (invalid UTF-8 shows as U+FFFD): for keys you know are text. */
export function keyText(key: Uint8Array): string {
  return utf8.decode(key);
}

/** Whether `key` starts with `prefix` (text is taken as UTF-8). */
export function keyHasPrefix(key: Uint8Array, prefix: Uint8Array | string): boolean {
  const p = typeof prefix === 'string' ? encoder.encode(prefix) : prefix;
  if (p.length > key.length) return false;
  for (let i = 0; i < p.length; i++) if (key[i] !== p[i]) return false;
  return true;
}
