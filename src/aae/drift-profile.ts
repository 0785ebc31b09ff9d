/**
 * Where and when two copies drifted apart, from their differing keys: what `aae inspect` draws.
 * Segments are hash positions, so any damage (a bucket, a node, a time window) spreads evenly over
 * the tree and a picture of segments says only "how much". The keys themselves say more:
 *
 * - when: a histogram of the differing keys' lastModified (the newer of the two versions). A
 *   replication outage shows as a band; a bad deploy as a step.
 * - where: per partition (keyspace) of each cluster's ring, and per node holding the key's first
 *   replica (replica inspections: the nodes of the vnode pair that differs). A lost node shows as
 *   its partitions.
 * - which: per (bucket, kind), the first few keys, so every cell of the summary links to keys.
 *
 * Bounded whatever the damage: the histogram re-bins to wider bins when it would pass MAX_BINS,
 * partitions are one counter each, and each cell keeps CELL_KEYS keys, for at most
 * MAX_CELL_BUCKETS buckets.
 */
import { keyspaceOf, preflist } from '../cluster/index.js';
import type { Difference } from './compare.js';
import { classifyDifference, type DifferenceKind } from './difference-summary.js';

/** Histogram bins kept while counting; twice the widest picture, so re-binning is rare. */
export const MAX_BINS = 2048;
/** The first bin width: a minute, fine enough for an outage of a few minutes. */
export const FIRST_BIN_MS = 60_000;
/** Keys kept per (bucket, kind) cell: enough to look at, few enough for a page. */
export const CELL_KEYS = 50;
/** Buckets whose cells keep keys (the summary counts every bucket). */
export const MAX_CELL_BUCKETS = 100;

/** A cluster's layout as far as the profile needs it. */
export interface RingLayout {
  readonly name: string;
  readonly ringSize: number;
  readonly nVal: number;
  /** vnode → node. */
  readonly owners: readonly string[];
}

export interface DriftProfileJson {
  /** Differing keys by lastModified: bins of `binMs` from `startMs` (ms since the epoch). */
  time: { binMs: number; startMs: number | null; counts: number[]; untimed: number };
  /** Per cluster (side): differing keys per keyspace of its ring, and per node holding their first replica. */
  sides: Array<{ cluster: string; ringSize: number; partitions: number[]; nodes: Record<string, number> }>;
  /** The first keys of each (bucket, kind) cell, and how many the cell has in all. */
  cells: Array<{ bucket: string; kind: DifferenceKind; count: number; keys: Array<{ key: Uint8Array; ahead: string }> }>;
}

export class DriftProfile {
  private binMs = FIRST_BIN_MS;
  private readonly bins = new Map<number, number>();
  private untimed = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private readonly partitions: number[][];
  private readonly nodes: Array<Map<string, number>>;
  private readonly cells = new Map<string, { bucket: string; kind: DifferenceKind; count: number; keys: Array<{ key: Uint8Array; ahead: string }> }>();
  private readonly cellBuckets = new Set<string>();

  /** `layouts`: the two clusters (source, sink), or the one cluster of a replica inspection. */
  constructor(private readonly layouts: readonly RingLayout[]) {
    this.partitions = layouts.map((l) => new Array<number>(l.ringSize).fill(0));
    this.nodes = layouts.map(() => new Map());
  }

  /** Adds one difference; `vnodes`, for a replica pair, names the vnodes that differ. */
  add(d: Difference, vnodes?: readonly [number, number]): void {
    const t = Math.max(d.source?.clock.lastModified ?? 0, d.sink?.clock.lastModified ?? 0);
    if (t <= 0) this.untimed++;
    else this.count(t);
    this.layouts.forEach((l, i) => {
      const ks = keyspaceOf(d.bucket, d.key, l.ringSize);
      this.partitions[i]![ks]!++;
      const at = vnodes === undefined ? [preflist(ks, l)[0]!] : [...vnodes];
      for (const v of at) {
        const node = l.owners[v] ?? `vnode ${v}`;
        this.nodes[i]!.set(node, (this.nodes[i]!.get(node) ?? 0) + 1);
      }
    });
    const c = classifyDifference(d);
    const id = `${d.bucket}\u0000${c.kind}`;
    let cell = this.cells.get(id);
    if (cell === undefined) {
      if (!this.cellBuckets.has(d.bucket) && this.cellBuckets.size >= MAX_CELL_BUCKETS) return;
      this.cellBuckets.add(d.bucket);
      this.cells.set(id, (cell = { bucket: d.bucket, kind: c.kind, count: 0, keys: [] }));
    }
    cell.count++;
    if (cell.keys.length < CELL_KEYS) cell.keys.push({ key: d.key, ahead: c.ahead });
  }

  private count(t: number): void {
    const bin = Math.floor(t / this.binMs);
    this.bins.set(bin, (this.bins.get(bin) ?? 0) + 1);
    this.lo = Math.min(this.lo, bin);
    this.hi = Math.max(this.hi, bin);
    // The span, not the number of bins used, is what the picture draws: keep it within MAX_BINS by
    // doubling the bin width (bin i becomes bin ⌊i/2⌋).
    while (this.hi - this.lo + 1 > MAX_BINS) {
      this.binMs *= 2;
      const old = [...this.bins];
      this.bins.clear();
      for (const [b, n] of old) this.bins.set(Math.floor(b / 2), (this.bins.get(Math.floor(b / 2)) ?? 0) + n);
      this.lo = Math.floor(this.lo / 2);
      this.hi = Math.floor(this.hi / 2);
    }
  }

  toJSON(): DriftProfileJson {
    const first = this.bins.size === 0 ? null : this.lo;
    const counts = first === null ? [] : Array.from({ length: this.hi - first + 1 }, (_, i) => this.bins.get(first + i) ?? 0);
    return {
      time: { binMs: this.binMs, startMs: first === null ? null : first * this.binMs, counts, untimed: this.untimed },
      sides: this.layouts.map((l, i) => ({ cluster: l.name, ringSize: l.ringSize, partitions: [...this.partitions[i]!], nodes: Object.fromEntries(this.nodes[i]!) })),
      cells: [...this.cells.values()].map((c) => ({ ...c, keys: [...c.keys] })),
    };
  }
}
