import { classifyDifference, type Difference, type ReplicaDifference } from '../aae/index.js';
import { clockEntriesToJson, keyToJson, type Clock } from '../cluster/index.js';
import type { OutStream } from './out-stream.js';
import { printTable } from './output.js';
import type { SideNames } from './render-summary.js';

/**
 * How differences look: JSON (stable, for scripts: one record per difference, the same in
 * `--json`, `--json-lines` and `--output FILE.jsonl`) and table rows (for people).
 *
 * The user-facing vocabulary: "differences"; the two sides of a cluster compare are `source` and
 * `sink` (the clusters' names in tables and beside the JSON); inside one cluster, replicas `a`
 * and `b` of a vnode pair. The engine's blue and pink stay in the library.
 */

/** Rows of differences printed without --json. */
export const SHOWN_DIFFERENCES = 20;

export function versionJson(clock: Clock | null, deleted: boolean | undefined) {
  return clock === null ? null : { clock: clockEntriesToJson(clock), lastModified: clock.lastModified, deleted: deleted ?? false };
}

/** A difference between two clusters: `{bucket, key, kind, ahead: source|sink|both, source, sink}`. */
export function differenceJson(d: Difference) {
  const { kind, ahead } = classifyDifference(d);
  return { bucket: d.bucket, key: keyToJson(d.key), kind, ahead, source: versionJson(d.blue, d.blueDeleted), sink: versionJson(d.pink, d.pinkDeleted) };
}

/** A difference between two replicas: `{bucket, key, kind, ahead: a|b|both, a, b, vnodes: {a, b}}`. */
export function replicaDifferenceJson(d: ReplicaDifference) {
  const { kind, ahead } = classifyDifference(d);
  return {
    bucket: d.bucket,
    key: keyToJson(d.key),
    kind,
    ahead: ahead === 'source' ? 'a' : ahead === 'sink' ? 'b' : 'both',
    a: versionJson(d.blue, d.blueDeleted),
    b: versionJson(d.pink, d.pinkDeleted),
    vnodes: { a: d.blueVnode, b: d.pinkVnode },
  };
}

function clockText(clock: Clock | null, deleted: boolean | undefined): string {
  if (clock === null) return '(missing)';
  const entries = clock.entries.map(([a, n]) => `${a}:${n}`).join(',');
  return `${deleted ? 'tombstone ' : ''}[${entries}]`;
}

export function keyText(key: Uint8Array): string {
  const j = keyToJson(key);
  return typeof j === 'string' ? j : `base64:${j.base64}`;
}

const KIND_TEXT = { missing: 'missing', tombstone: 'tombstone vs value', concurrent: 'concurrent', newer: 'newer' } as const;

/** A table of differences (the first SHOWN_DIFFERENCES of `ds`); `more` differences were not shown. */
export function printDifferences(out: OutStream, ds: ReadonlyArray<Difference | ReplicaDifference>, names: SideNames, more = 0, lift = '--output FILE.jsonl lists every difference'): void {
  if (ds.length === 0) return;
  const replica = ds[0] !== undefined && 'blueVnode' in ds[0];
  const shown = ds.slice(0, SHOWN_DIFFERENCES);
  printTable(
    out,
    ['bucket', 'key', 'kind', replica ? 'replica A' : names.source, replica ? 'replica B' : names.sink, 'ahead'],
    shown.map((d) => {
      const c = classifyDifference(d);
      return [
        d.bucket,
        keyText(d.key),
        KIND_TEXT[c.kind],
        clockText(d.blue, d.blueDeleted) + ('blueVnode' in d ? ` @v${d.blueVnode}` : ''),
        clockText(d.pink, d.pinkDeleted) + ('pinkVnode' in d ? ` @v${d.pinkVnode}` : ''),
        c.ahead === 'source' ? names.source : c.ahead === 'sink' ? names.sink : 'concurrent',
      ];
    }),
  );
  const rest = ds.length - shown.length + more;
  if (rest > 0) out.write(`… and ${rest.toLocaleString('en-US')} more (${lift})\n`);
}
