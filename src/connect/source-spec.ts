import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { etcdSourceSchema } from './etcd/etcd-spec.js';
import { pgSourceSchema } from './pg/pg-spec.js';
import { redisSourceSchema } from './redis/redis-spec.js';

/**
 * A keystore's source spec: `source.json` in the keystore's directory (docs/CONNECT.md). The
 * engine-neutral envelope (bucket, rebuild schedule, how long a stopped feed may stay stopped)
 * around one engine's section, discriminated by `engine`. Decoding validates every field and
 * names the bad ones (CONNECT_SPEC_INVALID); writing is atomic.
 */

export const SOURCE_SPEC_FILE = 'source.json';
export const SOURCE_SPEC_VERSION = 1;

const DAY_MS = 24 * 3600 * 1000;
/** Riak's keystore rebuild period: two weeks, plus up to four days of jitter so rebuilds spread out. */
export const DEFAULT_REBUILD_EVERY_MS = 14 * DAY_MS;
export const DEFAULT_REBUILD_JITTER_MS = 4 * DAY_MS;
/**
 * A feed stopped longer than this is a gap: catching up a week of WAL may cost more than a fresh
 * snapshot, and the slot has held the source's WAL all that time. Rebuild instead.
 */
export const DEFAULT_MAX_STOPPED_MS = 7 * DAY_MS;

const ms = (what: string) =>
  z
    .number({ error: (i) => (i.input === undefined ? 'is required' : `must be ${what}`) })
    .refine((n) => Number.isSafeInteger(n) && n >= 0, { error: `must be ${what}` });

export const sourceSpecSchema = z.strictObject({
  version: z.literal(SOURCE_SPEC_VERSION, { error: `must be ${SOURCE_SPEC_VERSION}` }),
  /** The bucket every key of this source lives in (default: the table's name). */
  bucket: z
    .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
    .refine((s) => s.length > 0 && s.isWellFormed() && !s.includes('\0'), { error: 'must be a non-empty string without NUL' }),
  rebuildEveryMs: ms('a whole number of ms ≥ 0 (0: never rebuild on schedule)'),
  rebuildJitterMs: ms('a whole number of ms ≥ 0'),
  maxStoppedMs: ms('a whole number of ms ≥ 0 (0: no limit)'),
  source: z.discriminatedUnion('engine', [pgSourceSchema, redisSourceSchema, etcdSourceSchema], { error: 'must be an object with a known engine (postgresql, redis, etcd)' }),
});

export type SourceSpec = z.infer<typeof sourceSpecSchema>;

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `${[...issue.path, ...issue.keys].map(String).join('.')}: unknown field`;
  const path = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
  return `${path}: ${issue.message}`;
}

/** Validates a decoded spec; CONNECT_SPEC_INVALID names every bad field (`details.fields`). */
export function parseSourceSpec(json: unknown, origin = SOURCE_SPEC_FILE): SourceSpec {
  const r = sourceSpecSchema.safeParse(json);
  if (!r.success) {
    const fields = r.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((k) => [...i.path, k].join('.')) : [i.path.map(String).join('.')]));
    throw new AaeError('CONNECT_SPEC_INVALID', `${origin}: ${r.error.issues.map(describeIssue).join('; ')}`, { details: { fields: [...new Set(fields)] } });
  }
  return r.data;
}

export function encodeSourceSpec(spec: SourceSpec): string {
  return `${JSON.stringify(parseSourceSpec(spec, 'source spec'), null, 2)}\n`;
}

/** Reads `<dir>/source.json`: KEYSTORE_NOT_FOUND when absent, CONNECT_SPEC_INVALID when bad. */
export async function readSourceSpec(dir: string): Promise<SourceSpec> {
  const file = join(dir, SOURCE_SPEC_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new AaeError('KEYSTORE_NOT_FOUND', `${dir} is not a keystore (${SOURCE_SPEC_FILE} is missing; make one with aae connect)`, { cause: e });
    throw new AaeError('STORE_IO', `cannot read ${file}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AaeError('CONNECT_SPEC_INVALID', `${SOURCE_SPEC_FILE}: not valid JSON (${(e as Error).message})`, { cause: e, details: { fields: [] } });
  }
  return parseSourceSpec(json);
}

export async function writeSourceSpec(dir: string, spec: SourceSpec): Promise<void> {
  const file = join(dir, SOURCE_SPEC_FILE);
  const body = encodeSourceSpec(spec);
  try {
    await writeFileAtomic(file, body);
  } catch (e) {
    throw new AaeError('STORE_IO', `cannot write ${file}`, { cause: e });
  }
}
