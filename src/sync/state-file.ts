/**
 * The sync's memory across restarts: when the last check that ended in sync started, the span the
 * last unfinished check left, and the last check's report for an operator to read.
 *
 * One JSON file per source and sink, written atomically after every check (a crash leaves the
 * previous state, never half of one). It is small and read once at start. A file that belongs to
 * another pair of clusters, or does not parse, is refused (SYNC_STATE_INVALID) rather than reset:
 * starting over silently would drop the range a failed check left behind.
 *
 *   { "format": "aae-sync-state", "version": 1, "source": "dc1", "sink": "dr1", "bucket"?: "users",
 *     "previousSuccess": 1763840000000 | null, "range": { "bucket"?, "from", "to" } | null,
 *     "fullCheckDue": false, "lastCheck"?: { …the CheckReport of the last check… } }
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../cluster/index.js';
import { AaeError } from '../errors.js';
import { INITIAL_STATE, type SyncState } from './checks.js';
import { WORK_ITEMS } from './schedule.js';
import { CHECK_OUTCOMES, type CheckReport } from './run-check.js';
import { changedNodes, fillCopy, sameCopy } from '../cluster/index.js';

const FORMAT = 'aae-sync-state';
const VERSION = 1;

const time = z.number().int().nonnegative();
const stateSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  source: z.string(),
  sink: z.string(),
  bucket: z.string().min(1).optional(),
  sourceId: z.string().optional(),
  sinkId: z.string().optional(),
  previousSuccess: time.nullable(),
  range: z
    .object({ bucket: z.string().min(1).optional(), from: time, to: time })
    .refine((r) => r.from <= r.to, 'range.from is after range.to')
    .nullable(),
  fullCheckDue: z.boolean().optional(),
  lastCheck: z.unknown().optional(),
  lastSuccessAt: time.optional(),
});

/** The default place: beside the source cluster's spec, one file per sink (and bucket, if one). */
export function defaultStatePath(sourceDir: string, sinkName: string, bucket?: string): string {
  const scope = bucket === undefined ? '' : `+${encodeURIComponent(bucket)}`;
  return join(sourceDir, 'sync', `${encodeURIComponent(sinkName)}${scope}.json`);
}

/** Which clusters, and which part of them, a state belongs to. */
export interface SyncIdentity {
  source: string;
  sink: string;
  /** The one bucket the sync is limited to, if it is. */
  bucket?: string;
  /** Which copies of the clusters the state vouches for (copy-id.ts: a directory's cluster.id, or a served cluster's nodes'). */
  sourceId?: string;
  sinkId?: string;
}

/** The state in `file`, or the initial state when there is no file yet. */
export async function loadSyncState(file: string, who: SyncIdentity): Promise<SyncState> {
  return (await readSyncStatus(file, who)).state;
}

/** What `aae sync --status` shows: the state, and the last check's report as it was saved. */
export interface SyncStatus {
  /** False when no check has saved a state yet (the state is then the initial one). */
  exists: boolean;
  /**
   * The state was written against other copies of these clusters (a cluster rebuilt under the
   * same name): its watermark vouches for data that is gone, so the state is the initial one.
   */
  otherCopies: boolean;
  /**
   * With otherCopies: which side's copy changed, and the nodes whose data is served from another
   * directory now (null: the cluster's or keystore's one id changed).
   */
  changed?: Array<{ side: 'source' | 'sink'; nodes: string[] | null }>;
  state: SyncState;
  lastCheck: CheckReport | undefined;
  /**
   * When the last check that ended in sync (in_sync or repaired) finished, whatever came after it:
   * what monitoring compares with a maximum age (`aae sync --status --max-age`).
   */
  lastSuccessAt: number | undefined;
  /**
   * The copies to record from now on: the identity asked with, each node that did not answer
   * filled in from the state read (copy-id.ts), when that state is of the same copies.
   */
  copies: { sourceId?: string; sinkId?: string };
}

/** The end of a check that ended in sync, or undefined for any other outcome. */
export function successTime(r: CheckReport): number | undefined {
  return r.outcome === 'in_sync' || r.outcome === 'repaired' ? r.startedAt + Math.round(r.durationMs) : undefined;
}

const lastCheckSchema = z.looseObject({
  item: z.enum(WORK_ITEMS),
  outcome: z.enum(CHECK_OUTCOMES),
  startedAt: time,
  durationMs: z.number().nonnegative(),
  why: z.string(),
  differences: z.number().int().nonnegative(),
  repaired: z.object({ keys: z.number(), writes: z.number(), conflicts: z.number() }),
  loops: z.number().int().nonnegative(),
});

export async function readSyncStatus(file: string, who: SyncIdentity): Promise<SyncStatus> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return noState(who);
    throw new AaeError('SYNC_STATE_IO', `cannot read the sync state ${file}`, { cause: e });
  }
  return parseSyncStatus(text, file, who);
}

/** Decodes a saved state (from a file, or an etcd key: `file` names where it came from). */
export function parseSyncStatus(text: string, file: string, who: SyncIdentity): SyncStatus {
  const { source, sink } = who;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AaeError('SYNC_STATE_INVALID', `${file} is not JSON; move it aside to start the sync afresh`, { cause: e });
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AaeError('SYNC_STATE_INVALID', `${file} is not a sync state (${where}); move it aside to start the sync afresh`);
  }
  const s = parsed.data;
  if (s.source !== source || s.sink !== sink || s.bucket !== who.bucket) {
    const of = (x: { source: string; sink: string; bucket?: string | undefined }) => `${x.source} → ${x.sink}${x.bucket === undefined ? '' : ` (bucket '${x.bucket}')`}`;
    throw new AaeError('SYNC_STATE_INVALID', `${file} is the state of ${of(s)}, not ${of(who)}`);
  }
  const range = s.range === null ? null : { ...(s.range.bucket === undefined ? {} : { bucket: s.range.bucket }), from: s.range.from, to: s.range.to };
  const state: SyncState = { previousSuccess: s.previousSuccess, range, ...(s.fullCheckDue === true ? { fullCheckDue: true } : {}) };
  // The last report is for people: one that does not read as a report is left out, not an error.
  const last = lastCheckSchema.safeParse(s.lastCheck);
  const lastCheck = last.success ? (last.data as unknown as CheckReport) : undefined;
  const changed = (['source', 'sink'] as const).flatMap((side) => {
    const [was, is] = side === 'source' ? [s.sourceId, who.sourceId] : [s.sinkId, who.sinkId];
    return sameCopy(was, is) ? [] : [{ side, nodes: changedNodes(was!, is!) }];
  });
  if (changed.length > 0) return { exists: true, otherCopies: true, changed, state: { ...INITIAL_STATE }, lastCheck, lastSuccessAt: undefined, copies: copiesOf(who) };
  const copies = { sourceId: fillCopy(who.sourceId, s.sourceId), sinkId: fillCopy(who.sinkId, s.sinkId) };
  return { exists: true, otherCopies: false, state, lastCheck, lastSuccessAt: s.lastSuccessAt, copies: copiesOf(copies) };
}

/** What a place with no saved state holds: the initial state, of the copies asked with. */
export function noState(who: SyncIdentity): SyncStatus {
  return { exists: false, otherCopies: false, state: { ...INITIAL_STATE }, lastCheck: undefined, lastSuccessAt: undefined, copies: copiesOf(who) };
}

export function copiesOf(who: { sourceId?: string | undefined; sinkId?: string | undefined }): SyncStatus['copies'] {
  return { ...(who.sourceId === undefined ? {} : { sourceId: who.sourceId }), ...(who.sinkId === undefined ? {} : { sinkId: who.sinkId }) };
}

/** `lastSuccessAt`: the end of the last check that ended in sync (this one's, if it did). */
export async function saveSyncState(file: string, who: SyncIdentity, state: SyncState, lastCheck?: CheckReport, lastSuccessAt?: number): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, encodeSyncState(who, state, lastCheck, lastSuccessAt));
  } catch (e) {
    throw new AaeError('SYNC_STATE_IO', `cannot write the sync state ${file}`, { cause: e });
  }
}

/** The saved form of a state (what a file or an etcd key holds). */
export function encodeSyncState(who: SyncIdentity, state: SyncState, lastCheck?: CheckReport, lastSuccessAt?: number): string {
  const success = (lastCheck === undefined ? undefined : successTime(lastCheck)) ?? lastSuccessAt;
  const body = {
    format: FORMAT,
    version: VERSION,
    source: who.source,
    sink: who.sink,
    ...(who.bucket === undefined ? {} : { bucket: who.bucket }),
    ...(who.sourceId === undefined ? {} : { sourceId: who.sourceId }),
    ...(who.sinkId === undefined ? {} : { sinkId: who.sinkId }),
    previousSuccess: state.previousSuccess,
    range: state.range,
    fullCheckDue: state.fullCheckDue === true,
    ...(lastCheck === undefined ? {} : { lastCheck }),
    ...(success === undefined ? {} : { lastSuccessAt: success }),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}
