import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { dominates, increment, makeClock } from '../../src/cluster/clock.js';
import type { AaeObject, ObjectKey } from '../../src/cluster/object.js';
import { MemoryConflictSink } from '../../src/repair/conflict-log.js';
import { resolveVersions } from '../../src/repair/decide.js';
import { repairKeys, type PlaceWrite, type RepairBackend, type WriteOutcome } from '../../src/repair/repair-keys.js';

const enc = (s: string) => new TextEncoder().encode(s);
const id = (k: ObjectKey) => `${k.bucket}/${Buffer.from(k.key).toString()}`;

/** N places, each a map of objects, with writes that land only where they dominate. */
class MemoryPlaces implements RepairBackend {
  readonly places: Array<Map<string, AaeObject>>;
  /** Called between a key's read and its write: simulates a live write racing the repair. */
  beforeWrite: ((key: ObjectKey) => void) | undefined;
  writes = 0;
  constructor(n: number) {
    this.places = Array.from({ length: n }, () => new Map());
  }
  async read(keys: readonly ObjectKey[]) {
    // Two places are a source (side 0) and a sink (side 1); more are the replicas of one cluster.
    const side = (i: number) => (this.places.length === 2 ? { side: i === 0 ? (0 as const) : (1 as const) } : {});
    return keys.map((k) => this.places.map((p, i) => ({ place: `p${i}`, object: p.get(id(k)) ?? null, ...side(i) })));
  }
  async write(batch: ReadonlyArray<{ key: ObjectKey; writes: readonly PlaceWrite[] }>): Promise<WriteOutcome[][]> {
    return batch.map(({ key, writes }) => {
      this.beforeWrite?.(key);
      return writes.map(({ place, object }) => {
        const cur = this.places[place]!.get(id(key));
        if (cur !== undefined && !dominates(object.clock, cur.clock)) return 'skipped';
        this.places[place]!.set(id(key), object);
        this.writes++;
        return 'written';
      });
    });
  }
}

const obj = (key: string, entries: Array<[string, number]>, lm: number, value = 'v', deleted = false): AaeObject => ({
  bucket: 'b',
  key: enc(key),
  clock: makeClock(entries, lm),
  value: deleted ? new Uint8Array() : enc(value),
  deleted,
  indexes: [],
});

// A clock names a version: its value and time follow from the clock (the tombstone flag may not,
// which is the corrupt case the decision must still settle).
const versionArb = fc.option(
  fc.record({ a: fc.nat(3), b: fc.nat(3), deleted: fc.boolean() }).filter((r) => r.a + r.b > 0),
  { nil: null },
);

describe('repairKeys', () => {
  test('after a repair every place agrees, and every conflict loser is logged', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(versionArb, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 30 }),
        fc.constantFrom('lww', 'source', 'sink') as fc.Arbitrary<'lww' | 'source' | 'sink'>,
        async (rows, policy) => {
          const backend = new MemoryPlaces(2);
          const keys: ObjectKey[] = [];
          let expectedLosers = 0;
          rows.forEach((row, i) => {
            const key = `k${i}`;
            keys.push({ bucket: 'b', key: enc(key) });
            row.forEach((v, p) => {
              if (v !== null) backend.places[p]!.set(`b/${key}`, obj(key, [["a", v.a], ["b", v.b]], v.a * 10 + v.b, `v-${v.a}-${v.b}`, v.deleted));
            });
            const r = resolveVersions(
              row.map((v, p) => (v === null ? null : backend.places[p]!.get(`b/${key}`)!)),
              policy,
              policy === 'source' ? [0] : [1],
            );
            if (r.kind === 'write') expectedLosers += r.losers.length;
          });
          const log = new MemoryConflictSink();
          const stats = await repairKeys(backend, keys, { policy, conflictLog: log, batchSize: 7 });
          expect(stats.keys).toBe(rows.length);
          expect(stats.conflictsLogged).toBe(expectedLosers);
          expect(log.entries.length).toBe(expectedLosers);
          expect(stats.placesSkipped).toBe(0);
          for (const k of keys) {
            const [a, b] = backend.places.map((p) => p.get(id(k)));
            expect(a).toEqual(b);
          }
          // Idempotent: a second pass finds nothing to do.
          const again = await repairKeys(backend, keys, { policy });
          expect(again.inSync).toBe(rows.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a dry run decides and reports but writes nothing', async () => {
    const backend = new MemoryPlaces(2);
    backend.places[0]!.set('b/x', obj('x', [['a', 2]], 1));
    backend.places[1]!.set('b/x', obj('x', [['a', 1]], 1));
    backend.places[0]!.set('b/y', obj('y', [['a', 1]], 1));
    const stats = await repairKeys(backend, [{ bucket: 'b', key: enc('x') }, { bucket: 'b', key: enc('y') }], { policy: 'lww', dryRun: true });
    expect(backend.writes).toBe(0);
    expect(stats).toMatchObject({ copied: 2, placesWritten: 0, dryRun: true });
    expect(stats.actions.map((a) => [a.kind, a.from, a.to])).toEqual([
      ['copy', 'p0', ['p1']],
      ['copy', 'p0', ['p1']],
    ]);
  });

  test('report leaves conflicts alone', async () => {
    const backend = new MemoryPlaces(2);
    backend.places[0]!.set('b/x', obj('x', [['a', 1]], 1));
    backend.places[1]!.set('b/x', obj('x', [['b', 1]], 2));
    const stats = await repairKeys(backend, [{ bucket: 'b', key: enc('x') }], { policy: 'report' });
    expect(stats).toMatchObject({ reported: 1, placesWritten: 0 });
    expect(backend.places[0]!.get('b/x')!.clock.entries).toEqual([['a', 1]]);
  });

  test('a live write that races the repair is never overwritten', async () => {
    const backend = new MemoryPlaces(2);
    backend.places[0]!.set('b/x', obj('x', [['a', 2]], 1, 'old-but-ahead'));
    backend.places[1]!.set('b/x', obj('x', [['a', 1]], 1, 'behind'));
    // Between the repair's read and its write, a client writes a newer version to the sink.
    backend.beforeWrite = () => {
      const cur = backend.places[1]!.get('b/x')!;
      backend.places[1]!.set('b/x', { ...cur, value: enc('newest'), clock: increment(makeClock([['a', 2]], 1), 'client', 9) });
    };
    const stats = await repairKeys(backend, [{ bucket: 'b', key: enc('x') }], { policy: 'lww' });
    expect(stats).toMatchObject({ copied: 1, placesWritten: 0, placesSkipped: 1 });
    expect(Buffer.from(backend.places[1]!.get('b/x')!.value).toString()).toBe('newest');
  });

  test('throttles to maxKeysPerSecond and stops on abort', async () => {
    const backend = new MemoryPlaces(2);
    const keys = Array.from({ length: 10 }, (_, i) => ({ bucket: 'b', key: enc(`k${i}`) }));
    for (const k of keys) backend.places[0]!.set(id(k), obj(Buffer.from(k.key).toString(), [['a', 1]], 1));
    let clock = 0;
    const sleeps: number[] = [];
    await repairKeys(backend, keys, {
      policy: 'lww',
      batchSize: 5,
      maxKeysPerSecond: 5,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    });
    expect(sleeps).toEqual([1000, 1000]);

    const ac = new AbortController();
    ac.abort();
    await expect(repairKeys(backend, keys, { policy: 'lww', signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('ConflictLogFile', () => {
  test('creates the file only at the first conflict, appends JSONL, and refuses a missing directory', async () => {
    const { mkdtemp, readFile, rm, stat } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { ConflictLogFile } = await import('../../src/repair/conflict-log.js');
    const dir = await mkdtemp(join(tmpdir(), 'aae-log-'));
    try {
      const path = join(dir, 'conflicts.jsonl');
      const log = await ConflictLogFile.open(path);
      await log.append([]);
      await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
      const loser = obj('x', [['a', 1]], 5, 'lost');
      await log.append([{ loser, replacedBy: makeClock([['a', 1], ['b', 1]], 6), policy: 'lww', where: 'blue' }]);
      await log.append([{ loser, replacedBy: makeClock([['a', 1], ['b', 1]], 6), policy: 'lww', where: 'pink' }]);
      await log.close();
      const lines = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.key, l.value, l.where])).toEqual([
        ['x', 'lost', 'blue'],
        ['x', 'lost', 'pink'],
      ]);
      await expect(ConflictLogFile.open(join(dir, 'no-such-dir', 'c.jsonl'))).rejects.toMatchObject({ code: 'CONFLICT_LOG_IO' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
