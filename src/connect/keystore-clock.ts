import { makeClock, type Clock } from '../cluster/index.js';
import { keyHash, utf8 } from '../hash/index.js';

/**
 * The clock a keystore stores for a key (docs/FORMAT.md, "Keystore clocks"). Two forms:
 *
 * - **Position clock** (format 2, an engine that has positions: PostgreSQL's LSN):
 *   `[[actor, counter]]` with lastModified. The actor names one linear history of the source (for
 *   PostgreSQL: the system identifier, the timeline, the database, the schema and the table,
 *   hashed: `@` + 16 hex digits); the counter is the source position of the row's last change (the
 *   commit's end LSN as a number; for a row read from a snapshot, the snapshot's position).
 * - **Hash clock** (format 1, and the form of any row whose position the keystore cannot know):
 *   `[["#" ‖ hex8(objectHash), 1]]`, a pure function of the row.
 *
 * Why a position. The exchange's clock stage compares object hashes, not clocks (it once compared
 * clocks, which is why format 1 made the clock a function of the hash), so the clock no longer
 * decides what differs: it decides, in repair, which version descends from which. With hash clocks
 * every two versions of a row are concurrent, so a row copied from a keystore into a cluster and
 * then changed at the source is a *conflict* on every later repair: the policy picks the source,
 * the sink's copy goes to the conflict log, and the merged clock written to the sink grows by one
 * entry per change, without bound. With position clocks the later change dominates the copy (one
 * history, a higher position): it is copied with its own clock, nothing is logged, and clocks stay
 * one entry long. Versions of two different sources (two databases) have different actors, so they
 * stay concurrent and repair decides by policy, as it must: rows carry no causality across
 * databases. Equal rows in two keystores of one source may hold different positions (one was
 * built later); that changes nothing, since compare and repair call versions equal by hash.
 *
 * Why the timeline is in the actor: after a restore to an earlier point (PITR), PostgreSQL writes
 * the new history from a lower position on a new timeline. Positions of the two histories must not
 * be compared, or an old copy would seem to descend from the new row.
 *
 * Why lastModified stays as it was: it is the `--updated-at` column, else the commit time (the
 * scan time for rows of a snapshot); `--conflict lww` and modified-range exchanges use it.
 *
 * A row the keystore has not applied yet (read from the source ahead of the feed) gets a hash
 * clock: its position is unknown, and a hash clock is concurrent with every position clock, so it
 * can never be taken for a descendant or an ancestor of anything.
 */

/** A position clock's counter is a safe integer: PostgreSQL positions stay below 2^53 (8 PiB of WAL). */
export function isClockCounter(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

/** The hash clock (format 1): a pure function of the row's hash, with lastModified. */
export function keystoreClock(hash: number, lastModified: number): Clock {
  return makeClock([[keystoreActor(hash), 1]], lastModified);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(n: number): string {
  return `${HEX[n >>> 24]!}${HEX[(n >>> 16) & 0xff]!}${HEX[(n >>> 8) & 0xff]!}${HEX[n & 0xff]!}`;
}

/** `#` + the hash as 8 lowercase hex digits (a table lookup a byte: this runs once per row). */
export function keystoreActor(hash: number): string {
  return `#${hex8(hash)}`;
}

/**
 * keystoreClock for a lastModified the caller has checked (an integer in range): the clock is in
 * normal form by construction (one entry, counter 1), so it skips makeClock's checks.
 */
export function keystoreClockUnchecked(hash: number, lastModified: number): Clock {
  return { entries: [[keystoreActor(hash), 1]], lastModified };
}

/**
 * The actor of a source's history: `@` + xxh64 (seed 0) of the identity's parts, each as UTF-8
 * followed by a 0 byte, as 16 lowercase hex digits (high word first). The parts are the engine's
 * (docs/FORMAT.md); they never contain NUL.
 */
export function sourceActor(parts: readonly string[]): string {
  const bytes = utf8(parts.map((p) => `${p}\0`).join(''));
  const { segment32, alt } = keyHash(bytes, 0);
  return `@${hex8(alt)}${hex8(segment32)}`;
}

/** A position clock (the caller has checked the counter and lastModified). */
export function positionClockUnchecked(actor: string, counter: number, lastModified: number): Clock {
  return { entries: [[actor, counter]], lastModified };
}

/** A position clock, validated. */
export function positionClock(actor: string, counter: number, lastModified: number): Clock {
  return makeClock([[actor, counter]], lastModified);
}
