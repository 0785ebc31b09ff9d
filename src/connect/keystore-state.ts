import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../cluster/index.js';
import { AaeError } from '../errors.js';

/**
 * `state.json`: what a keystore's feed has done, readable without opening the store (so `aae
 * follow --status` and `aae compare` can say whether a keystore is reliable while a follower holds
 * it). The authoritative position is the checkpoint inside the store (keystore.ts), written after
 * the data it covers; `position` here is the last one reported, for status and lag.
 *
 * Phases: `new` (never built), `building` (a snapshot is being read into rebuild/, by the
 * subscription `pending`), `swapping` (rebuild/ is complete and replaces the store: an open
 * finishes the swap), `ready` (following `subscription`).
 */

export const STATE_FILE = 'state.json';
export const STATE_VERSION = 1;

const time = z.number().int().nonnegative();

export const stateSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  phase: z.enum(['new', 'building', 'swapping', 'ready']),
  /** false: the keystore missed changes (a gap) or was never built; it vouches for nothing. */
  reliable: z.boolean(),
  unreliable: z.strictObject({ reason: z.string(), since: time }).nullable(),
  /** The subscription (PostgreSQL: replication slot) the store follows. */
  subscription: z.string().nullable(),
  /** A subscription being built (dropped if the build is abandoned). */
  pending: z.string().nullable(),
  /** The source position the store is applied up to, as last reported. */
  position: z.string().nullable(),
  generation: z.number().int().nonnegative(),
  builtAt: time.nullable(),
  nextRebuildAt: time.nullable(),
  /** When the feed last applied a change or found itself caught up. */
  followedAt: time.nullable(),
  rebuilds: z.number().int().nonnegative(),
  /** Distance behind the source: WAL bytes and seconds, measured at `at`. */
  lag: z.strictObject({ bytes: z.number().nonnegative(), seconds: z.number().nonnegative(), at: time }).nullable(),
  /**
   * The follower cannot reach its source (it is reconnecting), since when and why; absent while
   * it can. Written only while it is so, so a state.json of a reachable source reads as before.
   */
  unreachable: z.strictObject({ reason: z.string(), since: time }).optional(),
});

export type KeystoreState = z.infer<typeof stateSchema>;

export function initialState(): KeystoreState {
  return {
    version: STATE_VERSION,
    phase: 'new',
    reliable: false,
    unreliable: { reason: 'not built yet (run aae follow)', since: Date.now() },
    subscription: null,
    pending: null,
    position: null,
    generation: 0,
    builtAt: null,
    nextRebuildAt: null,
    followedAt: null,
    rebuilds: 0,
    lag: null,
  };
}

export function parseState(json: unknown, origin = STATE_FILE): KeystoreState {
  const r = stateSchema.safeParse(json);
  if (!r.success) {
    throw new AaeError('KEYSTORE_STATE_INVALID', `${origin}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

export function encodeState(state: KeystoreState): string {
  return `${JSON.stringify(parseState(state, 'keystore state'), null, 2)}\n`;
}

export async function readState(dir: string): Promise<KeystoreState> {
  const file = join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AaeError('KEYSTORE_NOT_FOUND', `${dir} is not a keystore (${STATE_FILE} is missing)`, { cause: e });
    throw new AaeError('STORE_IO', `cannot read ${file}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AaeError('KEYSTORE_STATE_INVALID', `${STATE_FILE}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return parseState(json);
}

export async function writeState(dir: string, state: KeystoreState): Promise<void> {
  const file = join(dir, STATE_FILE);
  const body = encodeState(state);
  try {
    await writeFileAtomic(file, body);
  } catch (e) {
    throw new AaeError('STORE_IO', `cannot write ${file}`, { cause: e });
  }
}

/** When the next scheduled rebuild falls: `every` after `from`, plus uniform jitter in [0, jitter). 0 every: never. */
export function nextRebuild(from: number, every: number, jitter: number, random: () => number = Math.random): number | null {
  if (every === 0) return null;
  return from + every + Math.floor(random() * jitter);
}
