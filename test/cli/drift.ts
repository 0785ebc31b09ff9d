import { join } from 'node:path';
import { defaultSpec, makeClock, type SpecOverrides } from '../../src/cluster/index.js';
import { EmbeddedCluster, type PutItem } from '../../src/coordinator/index.js';

/**
 * Two embedded clusters that agree on `shared` keys and then differ in a known way, for the CLI's
 * listing, summary and picture tests. Every planted difference is returned as
 * `bucket/key kind ahead`, the exact set a complete compare must list.
 */
export interface Drift {
  shared: number;
  /** Keys only the source holds (a replication outage): their lastModified fall in `outage`. */
  missingOnSink: number;
  missingOnSource: number;
  /** Both hold the key; the sink's version descends from the source's. */
  sinkNewer: number;
  /** The source deleted the key; the sink still holds the value. */
  tombstones: number;
  concurrent: number;
  /** The buckets keys are dealt to, in turn. */
  buckets: readonly string[];
  /** lastModified of the missing-on-sink keys: [from, to) ms. Other keys are written at `base`. */
  outage: readonly [number, number];
  base: number;
}

export const BASE_TIME = Date.UTC(2026, 10, 1);
export const HOUR = 3_600_000;

export async function plantDrift(dir: string, d: Drift, overrides: SpecOverrides = {}): Promise<{ source: string; sink: string; planted: Set<string> }> {
  const source = join(dir, 'prod');
  const sink = join(dir, 'dr');
  const a = await EmbeddedCluster.create(source, defaultSpec('prod', { ringSize: 16, nVal: 2, nodeCount: 3, ...overrides }));
  const b = await EmbeddedCluster.create(sink, defaultSpec('dr', { ringSize: 8, nVal: 1, nodeCount: 2, ...overrides }));
  const planted = new Set<string>();
  const bucket = (i: number): string => d.buckets[i % d.buckets.length]!;
  const v = (actor: string, n: number, t: number) => makeClock([[actor, n]], t);
  const both: PutItem[] = [];
  const onlyA: PutItem[] = [];
  const onlyB: PutItem[] = [];
  let i = 0;
  const next = (): { bucket: string; key: string } => ({ bucket: bucket(i), key: `key-${String(i++).padStart(7, '0')}` });
  for (let n = 0; n < d.shared; n++) both.push({ ...next(), value: 'same', clock: v('w', 1, d.base) });
  const [from, to] = d.outage;
  for (let n = 0; n < d.missingOnSink; n++) {
    const k = next();
    onlyA.push({ ...k, value: 'late', clock: v('w', 1, from + Math.floor(((to - from) * n) / Math.max(1, d.missingOnSink))) });
    planted.add(`${k.bucket}/${k.key} missing source`);
  }
  for (let n = 0; n < d.missingOnSource; n++) {
    const k = next();
    onlyB.push({ ...k, value: 'stray', clock: v('w', 1, d.base) });
    planted.add(`${k.bucket}/${k.key} missing sink`);
  }
  for (let n = 0; n < d.sinkNewer; n++) {
    const k = next();
    onlyA.push({ ...k, value: 'old', clock: v('w', 1, d.base) });
    onlyB.push({ ...k, value: 'new', clock: makeClock([['w', 1], ['dr-app', 1]], d.base + 1) });
    planted.add(`${k.bucket}/${k.key} newer sink`);
  }
  for (let n = 0; n < d.tombstones; n++) {
    const k = next();
    onlyA.push({ ...k, deleted: true, clock: v('w', 2, d.base + 2) });
    onlyB.push({ ...k, value: 'undead', clock: v('w', 1, d.base) });
    planted.add(`${k.bucket}/${k.key} tombstone source`);
  }
  for (let n = 0; n < d.concurrent; n++) {
    const k = next();
    onlyA.push({ ...k, value: 'left', clock: makeClock([['w', 1], ['a', 1]], d.base + 3) });
    onlyB.push({ ...k, value: 'right', clock: makeClock([['w', 1], ['b', 1]], d.base + 4) });
    planted.add(`${k.bucket}/${k.key} concurrent both`);
  }
  try {
    await a.putMany([...both, ...onlyA]);
    await b.putMany([...both, ...onlyB]);
  } finally {
    await a.close();
    await b.close();
  }
  return { source, sink, planted };
}

/** A listed difference as `plantDrift` names it. */
export function named(r: { bucket: string; key: unknown; kind: string; ahead: string }): string {
  return `${r.bucket}/${String(r.key)} ${r.kind} ${r.ahead}`;
}
