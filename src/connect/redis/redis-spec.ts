import { z } from 'zod';
import { slotNameSchema } from '../pg/pg-spec.js';

/**
 * The Redis section of a keystore's source spec (source.json): which server (or cluster), which
 * keys (a SCAN glob, `--match`), and how a key's name becomes the keystore's key (the pattern's
 * literal prefix is cut off). `fields` is the mapping that makes a Redis hash compare equal to a
 * database row: the named fields, in order, are the row's values (docs/CONNECT.md, "Across
 * engines"). Without it every type hashes by its own canonical bytes (docs/FORMAT.md).
 *
 * `hashScheme` records how values were hashed. There is one scheme today, `xxh32` (the canonical
 * bytes hashed client-side, as every keystore hashes): the engine-side fold (a Redis Function,
 * which could only use the SHA-1 Redis has) was measured slower (docs/BENCHMARKS.md) and would
 * make the keystore incomparable with every other. A keystore of another scheme is refused.
 */

export const REDIS_HASH_SCHEME = 'xxh32';

const text = (what: string) => z.string({ error: (i) => (i.input === undefined ? 'is required' : `must be ${what}`) });

export const redisSourceSchema = z.strictObject({
  engine: z.literal('redis'),
  url: text('a string').refine((s) => /^rediss?:\/\/[^\s]*$/.test(s), { error: 'must be a redis:// or rediss:// URL' }),
  /** The logical database (0 in a cluster). */
  db: z.number().int().min(0).max(65_535),
  /** The SCAN MATCH glob of the keys kept (also the notifications' channel pattern). */
  match: text('a glob').min(1, { error: 'must be a non-empty glob' }),
  /** The glob's literal prefix: cut from each key name to make the keystore key. */
  prefix: text('a string'),
  /** A Redis hash as a row: these fields' values, in order (null where a field is missing); null: every type by its canonical bytes. */
  fields: z.array(text('a field name').min(1)).min(1).nullable(),
  /** A Redis Cluster: one feed per master, masters found from the cluster. */
  cluster: z.boolean(),
  /** Base name of the keystore's subscriptions (rebuilds add _<n>); in-process only, Redis keeps no subscription state. */
  slot: slotNameSchema,
  hashScheme: z.literal(REDIS_HASH_SCHEME, { error: `must be '${REDIS_HASH_SCHEME}' (a keystore of another hash scheme cannot be compared with this version)` }),
});

export type RedisSourceSpec = z.infer<typeof redisSourceSchema>;

/** The literal part of a glob before its first special character (`*`, `?`, `[`, `\`). */
export function literalPrefix(glob: string): string {
  const i = glob.search(/[*?[\\]/);
  return i < 0 ? glob : glob.slice(0, i);
}

/** The default bucket for a prefix: the prefix less one trailing ':' or '/' ("kv:*" → "kv"); null when that is empty. */
export function bucketOfPrefix(prefix: string): string | null {
  const b = prefix.replace(/[:/]$/, '');
  return b.length > 0 ? b : null;
}

/**
 * Whether a key name matches a glob as Redis matches it (SCAN MATCH, PSUBSCRIBE): `*` any bytes,
 * `?` one byte, `[abc]`, `[^a]`, `[a-z]` a class, `\x` the byte x. Bytes throughout (a glob and a
 * name compare as their UTF-8 bytes), as Redis compares them.
 */
export function globMatches(glob: string, name: Uint8Array): boolean {
  // Redis's matcher compares nothing against an empty name: only an empty glob, or the lone "*"
  // (which KEYS and SCAN take as every key without matching), match it.
  if (name.byteLength === 0) return glob === '' || glob === '*';
  return globRegExp(glob).test(Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1'));
}

const compiled = new Map<string, RegExp>();

function globRegExp(glob: string): RegExp {
  let re = compiled.get(glob);
  if (re !== undefined) return re;
  const g = Buffer.from(glob, 'utf8').toString('latin1');
  const lit = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  let out = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*') out += '[^]*';
    else if (c === '?') out += '[^]';
    else if (c === '\\' && i + 1 < g.length) out += lit(g[++i]!);
    else if (c === '[') {
      let j = i + 1;
      const not = g[j] === '^';
      if (not) j++;
      let cls = '';
      for (; j < g.length && g[j] !== ']'; j++) {
        if (g[j] === '\\' && j + 1 < g.length) cls += lit(g[++j]!);
        else if (g[j + 1] === '-' && j + 2 < g.length && g[j + 2] !== ']') {
          const [a, b] = [g[j]!, g[j + 2]!].sort();
          cls += `${lit(a!)}-${lit(b!)}`;
          j += 2;
        } else cls += lit(g[j]!);
      }
      // Redis ends an unclosed class at the glob's end.
      out += cls.length === 0 ? (not ? '[^]' : '(?!)') : `[${not ? '^' : ''}${cls}]`;
      i = j;
    } else out += lit(c);
  }
  re = new RegExp(`^${out}$`);
  compiled.set(glob, re);
  return re;
}
