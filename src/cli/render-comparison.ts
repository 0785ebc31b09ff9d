import { classifyDifference, type Difference, type ReplicaDifference } from '../aae/index.js';
import { clockEntriesToJson, keyToJson } from '../cluster/index.js';
import type { Version } from '../repair/index.js';
import type { OutStream } from './out-stream.js';
import { printTable } from './output.js';
import type { SideNames } from './render-summary.js';

/**
 * How differences look: JSON (stable, for scripts: one record per difference, the same in
 * `--json`, `--json-lines` and `--output FILE.jsonl`) and table rows (for people).
 *
 * The user-facing vocabulary: "differences"; the two sides of a cluster compare are `source` and
 * `sink` (the clusters' names in tables and beside the JSON); inside one cluster, replicas `a`
 * and `b` of a vnode pair (the library's source and sink of the pair).
 */

/** Rows of differences printed without --json. */
export const SHOWN_DIFFERENCES = 20;

export function versionJson(v: Version | null) {
  return v === null ? null : { clock: clockEntriesToJson(v.clock), lastModified: v.clock.lastModified, deleted: v.deleted };
}

export function isReplicaDifference(d: Difference | ReplicaDifference): d is ReplicaDifference {
  return 'sourceVnode' in d;
}

/**
 * The side where a key a difference finds on one side only may have been deleted rather than
 * never written: the absent side, when it erases deletes (a keystore); else null.
 */
export function maybeDeletedOn(d: Difference, erases: SideNames['erases']): 'source' | 'sink' | null {
  if (erases === undefined) return null;
  if (d.source === null && d.sink !== null && erases.source) return 'source';
  if (d.sink === null && d.source !== null && erases.sink) return 'sink';
  return null;
}

/**
 * A difference between two clusters: `{bucket, key, kind, ahead: source|sink|both, source, sink}`,
 * and `maybeDeletedOn: source|sink` where the key is absent from a side that erases deletes.
 */
export function differenceJson(d: Difference, erases?: SideNames['erases']) {
  const { kind, ahead } = classifyDifference(d);
  const deleted = maybeDeletedOn(d, erases);
  return { bucket: d.bucket, key: keyToJson(d.key), kind, ahead, ...(deleted === null ? {} : { maybeDeletedOn: deleted }), source: versionJson(d.source), sink: versionJson(d.sink) };
}

/** A difference between two replicas: `{bucket, key, kind, ahead: a|b|both, a, b, vnodes: {a, b}}`. */
export function replicaDifferenceJson(d: ReplicaDifference) {
  const { kind, ahead } = classifyDifference(d);
  return {
    bucket: d.bucket,
    key: keyToJson(d.key),
    kind,
    ahead: ahead === 'source' ? 'a' : ahead === 'sink' ? 'b' : 'both',
    a: versionJson(d.source),
    b: versionJson(d.sink),
    vnodes: { a: d.sourceVnode, b: d.sinkVnode },
  };
}

function versionText(v: Version | null): string {
  if (v === null) return '(missing)';
  const entries = v.clock.entries.map(([a, n]) => `${a}:${n}`).join(',');
  return `${v.deleted ? 'tombstone ' : ''}[${entries}]`;
}

export function keyText(key: Uint8Array): string {
  const j = keyToJson(key);
  return typeof j === 'string' ? j : `base64:${j.base64}`;
}

const KIND_TEXT = { missing: 'missing', tombstone: 'tombstone vs value', concurrent: 'concurrent', newer: 'newer' } as const;

/** A table of differences (the first SHOWN_DIFFERENCES of `ds`); `more` differences were not shown. */
export function printDifferences(out: OutStream, ds: ReadonlyArray<Difference | ReplicaDifference>, names: SideNames, more = 0, lift = '--output FILE.jsonl lists every difference'): void {
  if (ds.length === 0) return;
  const replica = ds[0] !== undefined && isReplicaDifference(ds[0]);
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
        versionText(d.source) + (isReplicaDifference(d) ? ` @v${d.sourceVnode}` : ''),
        versionText(d.sink) + (isReplicaDifference(d) ? ` @v${d.sinkVnode}` : ''),
        aheadCell(d, c.ahead, names),
      ];
    }),
  );
  const rest = ds.length - shown.length + more;
  if (rest > 0) out.write(`… and ${rest.toLocaleString('en-US')} more (${lift})\n`);
}

/** The "ahead" cell: a side, or concurrent; for a key absent from a keystore, that it may have been deleted there. */
function aheadCell(d: Difference | ReplicaDifference, ahead: 'source' | 'sink' | 'both', names: SideNames): string {
  if (ahead === 'both') return 'concurrent';
  const side = ahead === 'source' ? names.source : names.sink;
  const deleted = isReplicaDifference(d) ? null : maybeDeletedOn(d, names.erases);
  return deleted === null ? side : `${side} (or deleted on ${deleted === 'source' ? names.source : names.sink})`;
}
