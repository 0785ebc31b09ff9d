import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { aae, withTempDir } from './helpers.js';
import { BASE_TIME, HOUR, plantDrift } from './drift.js';

/**
 * Repair's listings and one-way repair, on a known drift: the dry run lists exactly the writes the
 * real run then makes, and --direction to-sink never writes the source.
 */
const FAST = ['--pause-ms', '0', '--quiet'];
const DRIFT = { shared: 1_500, missingOnSink: 150, missingOnSource: 40, sinkNewer: 30, tombstones: 20, concurrent: 10, buckets: ['users', 'orders'], outage: [BASE_TIME, BASE_TIME + HOUR] as const, base: BASE_TIME };

interface Line {
  bucket: string;
  key: string;
  kind: string;
  to: string[];
  skipped: string[];
  status: string;
}

async function lines(file: string): Promise<Line[]> {
  const text = (await readFile(file, 'utf8')).trimEnd();
  return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as Line);
}

/** The writes of a listing, as `bucket/key kind → places`, for the sides between the clusters. */
const writes = (ls: Line[]) => ls.filter((l) => l.kind === 'copy' || l.kind === 'resolve').map((l) => `${l.bucket}/${l.key} ${l.kind} → ${[...l.to].sort().join(',')}`).sort();

describe('aae repair: listings and direction', () => {
  test('the dry run lists exactly the writes the real run then makes', () =>
    withTempDir(async (tmp) => {
      const { source, sink, planted } = await plantDrift(tmp, DRIFT);
      const plan = join(tmp, 'plan.jsonl');
      const dry = await aae('repair', source, sink, ...FAST, '--dry-run', '--no-replicas', '--output', plan, '--json');
      expect(dry.code).toBe(1);
      const planned = await lines(plan);
      expect(planned.every((l) => l.status === 'planned' && l.kind !== 'in_sync')).toBe(true);
      // Every planted difference gets a write (lww resolves the concurrent ones); nothing else does.
      expect(new Set(planned.map((l) => `${l.bucket}/${l.key}`))).toEqual(new Set([...planted].map((p) => p.split(' ')[0])));
      expect(dry.json()).toMatchObject({ dryRun: true, direction: 'both', listed: planned.length, totals: { writes: 0 } });

      const done = join(tmp, 'done.jsonl');
      const real = await aae('repair', source, sink, ...FAST, '--no-replicas', '--output', done, '--conflict-log', join(tmp, 'c.jsonl'), '--json');
      expect(real.code).toBe(0);
      const made = await lines(done);
      expect(made.every((l) => l.status === 'done' && l.skipped.length === 0)).toBe(true);
      expect(writes(made)).toEqual(writes(planned));
      const body = real.json<{ keysWritten: { source: number; sink: number } }>();
      expect(body.keysWritten).toEqual({
        source: made.filter((l) => l.to.includes('prod')).length,
        sink: made.filter((l) => l.to.includes('dr')).length,
      });
      expect((await aae('compare', source, sink, ...FAST)).code).toBe(0);
    }));

  test('--direction to-sink never writes the source: its data is byte-for-byte what it was; what only the source lacks is held back', () =>
    withTempDir(async (tmp) => {
      const { source, sink } = await plantDrift(tmp, DRIFT);
      // A copy of the source as it was, to compare with afterwards (a cluster is a directory).
      const before = join(tmp, 'before');
      await mkdir(before);
      await cp(source, join(before, 'prod'), { recursive: true });

      const out = join(tmp, 'one-way.jsonl');
      const r = await aae('repair', source, sink, ...FAST, '--direction', 'to-sink', '--output', out, '--conflict-log', join(tmp, 'c.jsonl'));
      // Keys newer on the sink (or only there) stay as they are: differences are left.
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('prod → dr');
      expect(r.stdout).toMatch(/wrote: 0 key\(s\) to prod · [\d,]+ key\(s\) to dr/);
      expect(r.stdout).toMatch(/held back: [\d,]+ key\(s\)/);
      const listed = await lines(out);
      expect(listed.filter((l) => l.to.includes('prod'))).toEqual([]);
      expect(listed.filter((l) => l.kind === 'held_back').length).toBeGreaterThanOrEqual(DRIFT.missingOnSource + DRIFT.sinkNewer);
      // The source is untouched: it agrees with its copy from before, replica for replica.
      expect((await aae('compare', join(before, 'prod'), source, ...FAST)).code).toBe(0);
      // And the sink now has everything the source was ahead on.
      const after = await aae('compare', source, sink, ...FAST, '--json');
      const left = after.json<{ summary: { ahead: { source: number; sink: number; both: number } } }>().summary.ahead;
      expect(left.source).toBe(0);
      // Concurrent keys were resolved (lww) by writing the merged version to the sink only: the
      // sink now descends both, so it is ahead there too, with the keys it already led.
      expect(left).toEqual({ source: 0, sink: DRIFT.missingOnSource + DRIFT.sinkNewer + DRIFT.concurrent, both: 0 });
    }));

  test('a sync check can be one-way too: --direction to-sink leaves the source as it was', () =>
    withTempDir(async (tmp) => {
      const { source, sink } = await plantDrift(tmp, { ...DRIFT, shared: 300, missingOnSink: 20, missingOnSource: 5, sinkNewer: 5, tombstones: 0, concurrent: 0 });
      await mkdir(join(tmp, 'before'));
      await cp(source, join(tmp, 'before', 'prod'), { recursive: true });
      const r = await aae('sync', source, sink, '--once', 'all', '--direction', 'to-sink', '--state', join(tmp, 'state.json'), ...FAST, '--json');
      expect(r.code).toBe(1); // the sink's own newer keys stay: differences are left
      expect((await aae('compare', join(tmp, 'before', 'prod'), source, ...FAST)).code).toBe(0);
      const after = await aae('compare', source, sink, ...FAST, '--json');
      expect(after.json<{ summary: { ahead: unknown } }>().summary.ahead).toEqual({ source: 0, sink: 10, both: 0 });
    }));

  test('usage: one-way needs two clusters; one listing at a time', () =>
    withTempDir(async (tmp) => {
      const { source, sink } = await plantDrift(tmp, { ...DRIFT, shared: 10, missingOnSink: 1, missingOnSource: 0, sinkNewer: 0, tombstones: 0, concurrent: 0 });
      expect((await aae('repair', source, '--direction', 'to-sink')).code).toBe(2);
      expect((await aae('repair', source, sink, '--json', '--json-lines')).code).toBe(2);
      expect((await aae('repair', source, sink, '--direction', 'sideways')).code).toBe(2);
    }));
});
