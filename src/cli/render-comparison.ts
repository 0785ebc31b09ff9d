import type { Difference, ReplicaDifference, ClusterComparison, ReplicaComparison } from '../aae/index.js';
import { clockEntriesToJson, keyToJson, type Clock } from '../cluster/index.js';
import type { OutStream } from './io.js';
import { printTable } from './output.js';

/** How comparisons look: JSON (stable, for scripts) and tables (for people). */

/** Rows of differences printed without --json; the JSON always has them all. */
export const SHOWN_DIFFERENCES = 20;

export function versionJson(clock: Clock | null, deleted: boolean | undefined) {
  return clock === null ? null : { clock: clockEntriesToJson(clock), lastModified: clock.lastModified, deleted: deleted ?? false };
}

export function differenceJson(d: Difference | ReplicaDifference) {
  return {
    bucket: d.bucket,
    key: keyToJson(d.key),
    blue: versionJson(d.blue, d.blueDeleted),
    pink: versionJson(d.pink, d.pinkDeleted),
    ahead: d.ahead,
    ...('blueVnode' in d ? { blueVnode: d.blueVnode, pinkVnode: d.pinkVnode } : {}),
  };
}

export function clusterComparisonJson(c: ClusterComparison) {
  const e = c.exchange;
  return {
    kind: c.kind,
    blue: c.blue,
    pink: c.pink,
    state: e.state,
    inSync: c.inSync,
    deltas: c.differences.map(differenceJson),
    counts: { deltas: c.differences.length, dirtyBranches: e.dirtyBranches, dirtySegments: e.dirtySegments },
    truncated: e.truncated,
    largeDelta: e.largeDelta,
    walk: e.walk,
    rounds: e.rounds,
    roundTrips: e.roundTrips,
    bytes: e.bytes,
    timings: e.timings,
  };
}

export function replicaComparisonJson(c: ReplicaComparison) {
  return {
    kind: c.kind,
    cluster: c.cluster,
    inSync: c.inSync,
    deltas: c.differences.map(differenceJson),
    counts: { deltas: c.differences.length, keys: c.keys, pairs: c.pairs, pairsInSync: c.pairsInSync },
    truncated: c.truncated,
    roundTrips: c.roundTrips,
    bytes: { total: c.bytes },
  };
}

function clockText(clock: Clock | null, deleted: boolean | undefined): string {
  if (clock === null) return '(missing)';
  const entries = clock.entries.map(([a, n]) => `${a}:${n}`).join(',');
  return `${deleted ? 'tombstone ' : ''}[${entries}]`;
}

function keyText(key: Uint8Array): string {
  const j = keyToJson(key);
  return typeof j === 'string' ? j : `base64:${j.base64}`;
}

export function printDifferences(out: OutStream, ds: ReadonlyArray<Difference | ReplicaDifference>, blueName: string, pinkName: string): void {
  if (ds.length === 0) return;
  const replica = ds[0] !== undefined && 'blueVnode' in ds[0];
  printTable(
    out,
    ['bucket', 'key', replica ? 'replica A' : blueName, replica ? 'replica B' : pinkName, 'ahead'],
    ds.slice(0, SHOWN_DIFFERENCES).map((d) => [
      d.bucket,
      keyText(d.key),
      clockText(d.blue, d.blueDeleted) + ('blueVnode' in d ? ` @v${d.blueVnode}` : ''),
      clockText(d.pink, d.pinkDeleted) + ('pinkVnode' in d ? ` @v${d.pinkVnode}` : ''),
      d.ahead === 'blue' ? (replica ? 'A' : blueName) : d.ahead === 'pink' ? (replica ? 'B' : pinkName) : d.ahead,
    ]),
  );
  if (ds.length > SHOWN_DIFFERENCES) out.write(`… and ${ds.length - SHOWN_DIFFERENCES} more (--json lists them all)\n`);
}

export function printClusterComparison(out: OutStream, c: ClusterComparison): void {
  const e = c.exchange;
  const ms = Object.values(e.timings).reduce((a, b) => a + (b ?? 0), 0);
  printTable(out, ['compare', 'in sync', 'stage', 'dirty branches', 'dirty segments', 'deltas', 'round trips', 'bytes', 'ms'], [
    [`${c.blue} ↔ ${c.pink}`, c.inSync ? 'yes' : 'no', e.state, e.dirtyBranches, e.dirtySegments, c.differences.length, e.roundTrips, e.bytes.total, Math.round(ms)],
  ]);
  printDifferences(out, c.differences, c.blue, c.pink);
  if (e.truncated) out.write('more segments differ than one exchange forwards (--max-results): `aae repair` loops until in sync\n');
}

export function printReplicaComparison(out: OutStream, c: ReplicaComparison): void {
  printTable(out, ['cluster', 'in sync', 'replica pairs', 'pairs in sync', 'keys differing', 'deltas', 'bytes'], [
    [c.cluster, c.inSync ? 'yes' : 'no', c.pairs, c.pairsInSync, c.keys, c.differences.length, c.bytes],
  ]);
  printDifferences(out, c.differences, 'A', 'B');
}
