import { z } from 'zod';
import { keyFromJson } from '../../cluster/object.js';
import { compareBytes } from '../../hash/index.js';
import { TREE_SIZES, segmentCountOf, type TreeSize } from '../../tictac/index.js';
import type { ModuleFilter } from '../contract.js';

/**
 * The query fields the built-in modules share, as zod schemas, and the head filter they make.
 * JSON shapes (docs/FOLDS.md):
 *   bucket        "b"                               one bucket (or `buckets`: ["a", "b"])
 *   keyRange      {"start": K, "end": K}            inclusive, key bytes compared; K is text or {"base64": …}
 *   modifiedRange {"start": ms, "end": ms}          inclusive lastModified, milliseconds since the epoch
 *   segments      {"ids": [..], "treeSize": "large"} only keys in these segments of a tree of that size
 */

/** Results a list-returning module keeps by default: a few MiB of keys and clocks. */
export const DEFAULT_MAX_RESULTS = 10_000;
/** The most a query may ask a list to hold: beyond this a result belongs in a sink, not in memory. */
export const MAX_MAX_RESULTS = 1_000_000;

export const treeSizeSchema = z.enum(TREE_SIZES as [TreeSize, ...TreeSize[]]);

/** A key: text, {"base64": …} (JSON), or the bytes themselves (a caller in code, or a query that crossed to a node). */
const keySchema = z.unknown().transform((v, ctx) => {
  if (v instanceof Uint8Array) return v;
  try {
    return keyFromJson(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : 'bad key' });
    return z.NEVER;
  }
});

export const keyRangeSchema = z
  .strictObject({ start: keySchema, end: keySchema })
  .refine((r) => compareBytes(r.start, r.end) <= 0, { error: 'start must not be after end' });

const msSchema = z.number().int().nonnegative();
export const modifiedRangeSchema = z
  .strictObject({ start: msSchema, end: msSchema })
  .refine((r) => r.start <= r.end, { error: 'start must not be after end' });

export const segmentsSchema = z
  .strictObject({ ids: z.array(z.number().int().nonnegative()).min(1), treeSize: treeSizeSchema })
  .refine((s) => s.ids.every((id) => id < segmentCountOf(s.treeSize)), { error: 'every segment id must be below the tree size\'s segment count' });

const bucketSchema = z.string().min(1).refine((s) => !s.includes('\0') && s.isWellFormed(), { error: 'must be text without NUL' });

export const maxResultsSchema = z.number().int().min(1).max(MAX_MAX_RESULTS).default(DEFAULT_MAX_RESULTS);

/** The range fields of Riak's range queries. */
export const rangeFields = {
  bucket: bucketSchema.optional(),
  buckets: z.array(bucketSchema).min(1).optional(),
  keyRange: keyRangeSchema.optional(),
  modifiedRange: modifiedRangeSchema.optional(),
};

export const rangeWithSegmentsFields = { ...rangeFields, segments: segmentsSchema.optional() };

export interface RangeQuery {
  bucket?: string | undefined;
  buckets?: string[] | undefined;
  keyRange?: { start: Uint8Array; end: Uint8Array } | undefined;
  modifiedRange?: { start: number; end: number } | undefined;
  segments?: { ids: number[]; treeSize: TreeSize } | undefined;
}

/** The head filter of a range query (bucket and buckets together: keys in any of them). */
export function rangeFilter(q: RangeQuery): ModuleFilter {
  const f: ModuleFilter = {};
  const buckets = [...(q.bucket === undefined ? [] : [q.bucket]), ...(q.buckets ?? [])];
  if (buckets.length > 0) f.buckets = buckets;
  if (q.keyRange !== undefined) f.keyRange = q.keyRange;
  if (q.modifiedRange !== undefined) f.modifiedRange = q.modifiedRange;
  if (q.segments !== undefined) f.segments = q.segments;
  return f;
}
