import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { increment, makeClock } from '../../src/cluster/clock.js';
import type { AaeObject, ObjectKey } from '../../src/cluster/object.js';
import { MemoryConflictSink } from '../../src/repair/conflict-log.js';
import { resolveVersions } from '../../src/repair/decide.js';
import type { Version } from '../../src/repair/decide.js';
import { repairKeys, type FetchedObject, type PlaceRef, type PlaceVersion, type RepairAction, type RepairBackend, type WriteOutcome } from '../../src/repair/repair-keys.js';
import { versionHashOf } from '../support/versions.js';

const enc = (s: string) => new TextEncoder().encode(s);
const id = (k: ObjectKey) => `${k.bucket}/${Buffer.from(k.key).toString()}`;

/** N places, each a map of objects, with writes that land only where they dominate. Stateless, as a backend must be. */
class MemoryPlaces implements RepairBackend {
  readonly places: Array<Map<string, AaeObject>>;
  /** Called before a batch is written: simulates a live write racing the repair. */
  beforeWrite: ((key: ObjectKey) => void) | undefined;
  /** Called before objects are fetched: simulates a write changing the winner after it was read. */
  beforeFetch: (() => void) | undefined;
  writes = 0;
  readonly writtenSides = new Set<number>();
  constructor(n: number) {
    this.places = Array.from({ length: n }, () => new Map());
  }
  /** A version's object hash (of its clock, as under hash method `clock`; a subclass may hash values). */
  hashOf(o: AaeObject): number {
    return versionHashOf(o.clock.entries, o.deleted);
  }
  /** Two places are a source (side 0) and a sink (side 1); more are the replicas of one cluster. */
  private sideOf(i: number): 0 | 1 {
    return this.places.length === 2 && i === 1 ? 1 : 0;
  }
  async read(keys: readonly ObjectKey[]): Promise<PlaceVersion[][]> {
    return keys.map((k) =>
      this.places.map((p, i): PlaceVersion => {
        const o = p.get(id(k)) ?? null;
        const version = o === null ? null : { clock: o.clock, deleted: o.deleted, hash: this.hashOf(o) };
        return { place: `p${i}`, version, ref: { side: this.sideOf(i), vnode: i }, ...(this.places.length === 2 ? { side: this.sideOf(i) } : {}) };
      }),
    );
  }
  async fetch(items: ReadonlyArray<{ key: ObjectKey; ref: PlaceRef }>): Promise<Array<FetchedObject | null>> {
    this.beforeFetch?.();
    return items.map(({ key, ref }) => {
      const o = this.places[ref.vnode]!.get(id(key)) ?? null;
      return o === null ? null : { object: o, hash: this.hashOf(o) };
    });
  }
  /** Compare-and-set: a target is written only while it still holds the version the decision saw there. */
  async write(batch: ReadonlyArray<{ object: AaeObject; targets: ReadonlyArray<{ ref: PlaceRef; held: Version | null }> }>): Promise<WriteOutcome[][]> {
    return batch.map(({ object, targets }) => {
      this.beforeWrite?.(object);
      return targets.map(({ ref, held }) => {
        const cur = this.places[ref.vnode]!.get(id(object)) ?? null;
        const same = cur === null ? held === null : held !== null && this.hashOf(cur) === held.hash && cur.deleted === held.deleted;
        if (!same) return 'skipped';
        this.places[ref.vnode]!.set(id(object), object);
        this.writes++;
        this.writtenSides.add(ref.side);
        return 'written';
      });
    });
  }
  snapshot(): string {
    return JSON.stringify(this.places.map((p) => [...p.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, o]) => [k, o.clock, Buffer.from(o.value).toString(), o.deleted])));
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
              row.map((v, p) => {
                if (v === null) return null;
                const o = backend.places[p]!.get(`b/${key}`)!;
                return { clock: o.clock, deleted: o.deleted, hash: versionHashOf(o.clock.entries, o.deleted) };
              }),
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

  /** Random rows of versions on two sides (a source and a sink). */
  const rowsArb = fc.array(fc.array(versionArb, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 25 });
  function load(rows: ReadonlyArray<ReadonlyArray<{ a: number; b: number; deleted: boolean } | null>>): { backend: MemoryPlaces; keys: ObjectKey[] } {
    const backend = new MemoryPlaces(2);
    const keys = rows.map((row, i) => {
      const key = `k${i}`;
      row.forEach((v, p) => {
        if (v !== null) backend.places[p]!.set(`b/${key}`, obj(key, [['a', v.a], ['b', v.b]], v.a * 10 + v.b, `v-${v.a}-${v.b}`, v.deleted));
      });
      return { bucket: 'b', key: enc(key) };
    });
    return { backend, keys };
  }
  const actionLine = (a: RepairAction): string => JSON.stringify([a.kind, Buffer.from(a.key).toString(), a.from ?? null, [...a.to].sort()]);

  test('law: a dry run lists exactly the writes the real run then makes (every action streamed, beyond the report cap)', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.constantFrom('lww', 'source', 'sink', 'report') as fc.Arbitrary<'lww' | 'source' | 'sink' | 'report'>, async (rows, policy) => {
        const { backend, keys } = load(rows);
        const before = backend.snapshot();
        const planned: RepairAction[] = [];
        const dry = await repairKeys(backend, keys, { policy, dryRun: true, maxActionsReported: 2, onAction: (a) => planned.push(a) });
        expect(backend.snapshot()).toBe(before);
        expect(planned).toHaveLength(keys.length);
        expect(dry.actions.length).toBeLessThanOrEqual(2);
        const done: RepairAction[] = [];
        const real = await repairKeys(backend, keys, { policy, onAction: (a) => done.push(a) });
        expect(done.map(actionLine)).toEqual(planned.map(actionLine));
        expect({ copied: real.copied, resolved: real.resolved, reported: real.reported, inSync: real.inSync }).toEqual({ copied: dry.copied, resolved: dry.resolved, reported: dry.reported, inSync: dry.inSync });
      }),
      { numRuns: 60 },
    );
  });

  test('law: a one-way repair never writes the other side; what only the other side could give is held back', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.constantFrom('to-sink', 'to-source') as fc.Arbitrary<'to-sink' | 'to-source'>, async (rows, direction) => {
        const { backend, keys } = load(rows);
        const untouched = direction === 'to-sink' ? 0 : 1;
        const before = JSON.stringify([...backend.places[untouched]!.entries()]);
        const stats = await repairKeys(backend, keys, { policy: 'lww', direction });
        expect(backend.writtenSides.has(untouched)).toBe(false);
        expect(JSON.stringify([...backend.places[untouched]!.entries()])).toBe(before);
        // Every key is settled one way or the other: in sync, written, reported, or held back.
        expect(stats.inSync + stats.copied + stats.resolved + stats.reported + stats.heldBack).toBe(keys.length);
      }),
      { numRuns: 60 },
    );
  });

  test('a winner that changes between the read and the fetch of its object is not copied', async () => {
    const backend = new MemoryPlaces(2);
    backend.places[0]!.set('b/x', obj('x', [['a', 2]], 1, 'read'));
    backend.beforeFetch = () => backend.places[0]!.set('b/x', obj('x', [['a', 3]], 2, 'changed'));
    const stats = await repairKeys(backend, [{ bucket: 'b', key: enc('x') }], { policy: 'lww' });
    expect(stats).toMatchObject({ copied: 1, placesWritten: 0, placesSkipped: 1 });
    expect(backend.places[1]!.get('b/x')).toBeUndefined();
  });

  test('two values under one clock (hash method value) are a conflict the policy settles, and the action says so', async () => {
    // A backend whose hash is the value's, as under hash method `value`.
    class ValuePlaces extends MemoryPlaces {
      override hashOf(o: AaeObject): number {
        return versionHashOf([[Buffer.from(o.value).toString(), 1]], o.deleted);
      }
    }
    const backend = new ValuePlaces(2);
    backend.places[0]!.set('b/x', obj('x', [['w', 1]], 5, 'hello'));
    backend.places[1]!.set('b/x', obj('x', [['w', 1]], 5, 'HELLO'));
    const dry = await repairKeys(backend, [{ bucket: 'b', key: enc('x') }], { policy: 'report' });
    expect(dry.actions[0]).toMatchObject({ kind: 'report', conflict: 'same_clock' });
    const stats = await repairKeys(backend, [{ bucket: 'b', key: enc('x') }], { policy: 'source' });
    expect(stats.actions[0]).toMatchObject({ kind: 'resolve', conflict: 'same_clock', from: 'p0' });
    expect(Buffer.from(backend.places[1]!.get('b/x')!.value).toString()).toBe('hello');
    expect((await repairKeys(backend, [{ bucket: 'b', key: enc('x') }], { policy: 'source' })).inSync).toBe(1);
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

/** Places whose stores erase deletes (keystores): a tombstone written there erases the key, and reads say so. */
class ErasingPlaces extends MemoryPlaces {
  constructor(readonly erasing: readonly boolean[]) {
    super(erasing.length);
  }
  override async read(keys: readonly ObjectKey[]): Promise<PlaceVersion[][]> {
    return (await super.read(keys)).map((places) => places.map((p, i) => (this.erasing[i] === true ? { ...p, erases: true } : p)));
  }
  override async write(batch: ReadonlyArray<{ object: AaeObject; targets: ReadonlyArray<{ ref: PlaceRef; held: Version | null }> }>): Promise<WriteOutcome[][]> {
    const out = await super.write(batch);
    batch.forEach(({ object, targets }, i) =>
      targets.forEach(({ ref }, j) => {
        if (out[i]![j] === 'written' && object.deleted && this.erasing[ref.vnode] === true) this.places[ref.vnode]!.delete(id(object));
      }),
    );
    return out;
  }
}

describe('a deletion on a side that erases deletes (keystores)', () => {
  const live = obj('k', [['@b', 7]], 50, 'still here');

  test('under source, the source having deleted the key deletes it from an erasing sink; the loser is logged; then in sync', async () => {
    const b = new ErasingPlaces([true, true]);
    b.places[1]!.set('b/k', live);
    const log = new MemoryConflictSink();
    const s = await repairKeys(b, [{ bucket: 'b', key: enc('k') }], { policy: 'source', direction: 'to-sink', conflictLog: log });
    expect(s).toMatchObject({ resolved: 1, placesWritten: 1, conflictsLogged: 1 });
    expect(s.actions[0]).toMatchObject({ kind: 'resolve', from: 'p0', to: ['p1'], conflict: 'concurrent' });
    expect(b.places[1]!.has('b/k')).toBe(false);
    expect(log.entries[0]!.loser).toEqual(live);
    expect((await repairKeys(b, [{ bucket: 'b', key: enc('k') }], { policy: 'source' })).inSync).toBe(1);
  });

  test('under sink, the sink having deleted it deletes it from the source; a dry run only lists it', async () => {
    const b = new ErasingPlaces([true, true]);
    b.places[0]!.set('b/k', live);
    const dry = await repairKeys(b, [{ bucket: 'b', key: enc('k') }], { policy: 'sink', dryRun: true });
    expect(dry.actions[0]).toMatchObject({ kind: 'resolve', to: ['p0'] });
    expect(b.places[0]!.has('b/k')).toBe(true);
    await repairKeys(b, [{ bucket: 'b', key: enc('k') }], { policy: 'sink' });
    expect(b.places[0]!.has('b/k')).toBe(false);
  });

  test('a sink that keeps tombstones gets one; where the direction forbids the write the deletion is held back, never overwritten by the other side', async () => {
    const kept = new ErasingPlaces([true, false]);
    kept.places[1]!.set('b/k', live);
    await repairKeys(kept, [{ bucket: 'b', key: enc('k') }], { policy: 'source', direction: 'to-sink' });
    expect(kept.places[1]!.get('b/k')?.deleted).toBe(true);
    // A tombstone there already agrees with the deletion.
    expect((await repairKeys(kept, [{ bucket: 'b', key: enc('k') }], { policy: 'source' })).inSync).toBe(1);
    const held = new ErasingPlaces([true, true]);
    held.places[1]!.set('b/k', live);
    const s = await repairKeys(held, [{ bucket: 'b', key: enc('k') }], { policy: 'source', direction: 'to-source' });
    expect(s.heldBack).toBe(1);
    expect(held.places[0]!.has('b/k')).toBe(false);
    expect(held.places[1]!.get('b/k')).toEqual(live);
  });

  test('not when the absent side keeps tombstones (absence there is no deletion) or the policy is lww', async () => {
    for (const c of [{ erasing: [false, true], policy: 'source' as const }, { erasing: [true, true], policy: 'lww' as const }]) {
      const b = new ErasingPlaces(c.erasing);
      b.places[1]!.set('b/k', live);
      const s = await repairKeys(b, [{ bucket: 'b', key: enc('k') }], { policy: c.policy, direction: 'to-sink' });
      expect(b.places[1]!.get('b/k'), JSON.stringify(c)).toEqual(live);
      expect(s.heldBack, JSON.stringify(c)).toBe(1);
    }
  });
});
