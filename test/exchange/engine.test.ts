import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AaeError } from '../../src/errors.js';
import {
  MemorySource,
  keyClockBytes,
  runExchange,
  type ExchangeLogLine,
  type ExchangeSource,
  type KeyDelta,
} from '../../src/exchange/index.js';
import { initHash } from '../../src/hash/index.js';
import type { TreeSize } from '../../src/tictac/index.js';
import { clock, fastOptions, hooked } from './helpers.js';

beforeAll(async () => {
  await initHash();
});

function pair(treeSize: TreeSize, n: number, hashes = true): [MemorySource, MemorySource] {
  const blue = new MemorySource({ treeSize, hashes });
  const pink = new MemorySource({ treeSize, hashes });
  for (let i = 0; i < n; i++) {
    blue.put('b', `key${i}`, clock('a', 1));
    pink.put('b', `key${i}`, clock('a', 1));
  }
  return [blue, pink];
}

const names = (deltas: KeyDelta[]): string[] => deltas.map((d) => `${d.bucket}/${new TextDecoder().decode(d.key)}`).sort();

describe('in sync', () => {
  it('ends at root compare after one top fetch per side (fine walk: 2048 words, half a root)', async () => {
    const [blue, pink] = pair('large', 50);
    const r = await runExchange([blue], [pink], fastOptions());
    expect(r).toMatchObject({ state: 'root_compare', inSync: true, deltas: [], rounds: 1, treeRounds: 1, roundTrips: 2, truncated: false });
    expect(r.bytes).toEqual({ blue: 8192, pink: 8192, total: 16384 });
    expect(blue.calls.fetchHashes).toBe(1);
  });
  it('a caller expecting few differences plans a coarser top: 1024 words', async () => {
    const [blue, pink] = pair('large', 50);
    const r = await runExchange([blue], [pink], fastOptions({ expectedDifferences: 1 }));
    expect(r.bytes.total).toBe(2 * 4096);
    await expect(runExchange([blue], [pink], fastOptions({ expectedDifferences: 0 }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
  it('classic walk: one 16 KiB root per side', async () => {
    const [blue, pink] = pair('large', 50, false);
    const r = await runExchange([blue], [pink], fastOptions());
    expect(r).toMatchObject({ state: 'root_compare', inSync: true, walk: 'classic', rounds: 1, roundTrips: 2 });
    expect(r.bytes.total).toBe(2 * 16384);
    expect(blue.calls.fetchRoot).toBe(1);
  });
});

describe('exact counts for a fixed scenario: one key missing on pink, large tree', () => {
  it('fine walk', async () => {
    const [blue, pink] = pair('large', 20);
    blue.put('b', 'extra', clock('a', 3));
    const opts = fastOptions();
    const r = await runExchange([blue], [pink], opts);
    expect(r.state).toBe('clock_compare');
    expect(names(r.deltas)).toEqual(['b/extra']);
    expect(r.deltas[0]).toMatchObject({ pink: null, blueDeleted: false });
    // The top (2048 words of 512 segments), the 16 children of the dirty one at width 32 (they
    // confirm it), the 32 leaves of the dirty child (they confirm it), then the clocks.
    expect(r.rounds).toBe(4);
    expect(r.treeRounds).toBe(3);
    expect(r.roundTrips).toBe(8);
    expect(opts.pauses).toHaveLength(3);
    const kc = keyClockBytes(blue.keyClocks().find((k) => new TextDecoder().decode(k.key) === 'extra')!);
    const perSide = (2048 + 16 + 32) * 4;
    expect(r.bytes).toEqual({ blue: perSide + kc, pink: perSide, total: 2 * perSide + kc });
    expect(r).toMatchObject({ dirtyBranches: 1, dirtySegments: 1, inSync: false, truncated: false, largeDelta: false });
  });
  it('classic walk re-fetches whole roots and branches, as the original', async () => {
    const [blue, pink] = pair('large', 20, false);
    blue.put('b', 'extra', clock('a', 3));
    const r = await runExchange([blue], [pink], fastOptions());
    expect(names(r.deltas)).toEqual(['b/extra']);
    expect(r.rounds).toBe(5);
    expect(r.treeRounds).toBe(4);
    expect(r.roundTrips).toBe(10);
    const kc = keyClockBytes(blue.keyClocks().find((k) => new TextDecoder().decode(k.key) === 'extra')!);
    expect(r.bytes.pink).toBe(2 * 16384 + 2 * 1024);
    expect(r.bytes.blue).toBe(2 * 16384 + 2 * 1024 + kc);
  });
});

describe('the fine walk: three rounds of tree data, confirmations carried by the children', () => {
  it('100 differences in a large tree: 3 tree rounds, then clocks; tree words near the planned 2048 + 98·16 + 100·32 a side', async () => {
    const [blue, pink] = pair('large', 2000);
    for (let i = 0; i < 100; i++) blue.put('b', `new${i}`, clock('a', 1));
    const lines: ExchangeLogLine[] = [];
    const r = await runExchange([blue], [pink], fastOptions({ logger: (l) => lines.push(l) }));
    expect(r.deltas).toHaveLength(100);
    expect(r).toMatchObject({ treeRounds: 3, rounds: 4, roundTrips: 8, truncated: false, largeDelta: false, dirtySegments: 100 });
    // Pink sends tree words only: at most the planned words (collisions make fewer).
    expect(r.bytes.pink).toBeLessThanOrEqual((2048 + 100 * 16 + 100 * 32) * 4);
    expect(r.bytes.pink).toBeGreaterThan(2048 * 4);
    expect(lines.some((l) => l.code === 'EX010')).toBe(false);
  });
  it('a capped exchange estimates the damage it did not walk from the top of the tree', async () => {
    // Fixed data: the estimate is deterministic. 1,500 differences, 128 walked.
    for (const [walk, hashes] of [['fine', true], ['classic', false]] as const) {
      const [blue, pink] = pair('large', 500, hashes);
      for (let i = 0; i < 1500; i++) blue.put('b', `new${i}`, clock('a', 1));
      const r = await runExchange([blue], [pink], fastOptions({ maxResults: 128 }));
      expect(r.walk).toBe(walk);
      expect(r.truncated).toBe(true);
      expect(r.deltas.length).toBeLessThan(1500);
      expect(r.estimatedDifferences).toBeGreaterThan(1500 * 0.8);
      expect(r.estimatedDifferences).toBeLessThan(1500 * 1.25);
    }
    const [a, b] = pair('large', 50);
    expect((await runExchange([a], [b], fastOptions())).estimatedDifferences).toBe(0);
  });
  it('a top word that heals before its children are fetched is dropped with them (EX010)', async () => {
    const [blue, pink] = pair('large', 30);
    blue.put('b', 'real', clock('a', 1));
    blue.put('b', 'inflight', clock('a', 1));
    const flaky = hooked(pink, (call) => {
      if (call === 2) pink.put('b', 'inflight', clock('a', 1));
    });
    const lines: ExchangeLogLine[] = [];
    const r = await runExchange([blue], [flaky], fastOptions({ logger: (l) => lines.push(l) }));
    expect(names(r.deltas)).toEqual(['b/real']);
    expect(r.treeRounds).toBe(3);
    expect(lines.filter((l) => l.code === 'EX010').map((l) => l.fields.dropped)).toEqual([1]);
  });
  it('a large delta that fills the middle too moves key lists instead of leaves (EX011)', async () => {
    const blue = new MemorySource({ treeSize: 'xxsmall' });
    const pink = new MemorySource({ treeSize: 'xxsmall' });
    for (let i = 0; i < 3000; i++) blue.put('b', `key${i}`, clock('a', 1));
    const lines: ExchangeLogLine[] = [];
    const r = await runExchange([blue], [pink], fastOptions({ logger: (l) => lines.push(l) }));
    expect(r.deltas).toHaveLength(3000);
    expect(r).toMatchObject({ largeDelta: true, truncated: false, treeRounds: 2, rounds: 3 });
    expect(lines.map((l) => l.code)).toContain('EX011');
  });
});

describe('random data, random drift', () => {
  it('the deltas are exactly the drifted keys, in either walk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.array(fc.tuple(fc.nat(79), fc.constantFrom('newer', 'forget', 'tomb', 'pinkOnly')), { maxLength: 20 }),
        fc.boolean(),
        fc.constantFrom<TreeSize>('xxsmall', 'small', 'large'),
        async (n, drift, hashes, size) => {
          const [blue, pink] = pair(size, n, hashes);
          const drifted = new Set<string>();
          for (const [i, kind] of drift) {
            const key = `key${i}`;
            if (kind === 'newer') blue.put('b', key, clock('a', 2 + i));
            else if (kind === 'forget') pink.forget('b', key);
            else if (kind === 'tomb') pink.put('b', key, clock('z', 1 + i), true);
            else pink.put('p', key, clock('p', 1));
            drifted.add(kind === 'pinkOnly' ? `p/${key}` : `b/${key}`);
          }
          // A key forgotten on pink that blue never had is no difference.
          for (const id of [...drifted]) {
            const [bucket, key] = id.split('/') as [string, string];
            const inBlue = blue.keyClocks().find((k) => k.bucket === bucket && new TextDecoder().decode(k.key) === key);
            const inPink = pink.keyClocks().find((k) => k.bucket === bucket && new TextDecoder().decode(k.key) === key);
            const same =
              inBlue !== undefined &&
              inPink !== undefined &&
              JSON.stringify([inBlue.clock.entries, inBlue.deleted]) === JSON.stringify([inPink.clock.entries, inPink.deleted]);
            if ((inBlue === undefined && inPink === undefined) || same) drifted.delete(id);
          }
          const r = await runExchange([blue], [pink], fastOptions());
          expect(names(r.deltas)).toEqual([...drifted].sort());
          expect(r.inSync).toBe(drifted.size === 0);
          expect(r.truncated).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a side of several sources is the XOR of their trees and the union of their keys', async () => {
    const parts = [0, 1, 2].map(() => new MemorySource({ treeSize: 'small' }));
    const whole = new MemorySource({ treeSize: 'small' });
    for (let i = 0; i < 90; i++) {
      parts[i % 3]!.put('b', `key${i}`, clock('a', 1));
      whole.put('b', `key${i}`, clock('a', 1));
    }
    expect((await runExchange(parts, [whole], fastOptions())).inSync).toBe(true);
    parts[1]!.put('b', 'key4', clock('a', 5));
    whole.forget('b', 'key8');
    const r = await runExchange(parts, [whole], fastOptions());
    expect(names(r.deltas)).toEqual(['b/key4', 'b/key8']);
    expect(r.roundTrips).toBe(r.rounds * 4);
  });
});

describe('writes in flight are not differences', () => {
  it('a write that lands between a compare and its confirm is not reported', async () => {
    const [blue, pink] = pair('large', 30);
    blue.put('b', 'real', clock('a', 1));
    blue.put('b', 'inflight', clock('a', 1));
    // Pink receives 'inflight' after answering its first request (the top compare).
    const flaky = hooked(pink, (call) => {
      if (call === 2) pink.put('b', 'inflight', clock('a', 1));
    });
    const r = await runExchange([blue], [flaky], fastOptions());
    expect(names(r.deltas)).toEqual(['b/real']);
  });
  it('a write that starts only at the confirm round is not reported either', async () => {
    const [blue, pink] = pair('large', 30);
    blue.put('b', 'real', clock('a', 1));
    const flaky = hooked(blue, (call) => {
      if (call === 2) blue.put('b', 'late', clock('a', 1));
    });
    const r = await runExchange([flaky], [pink], fastOptions());
    expect(names(r.deltas)).toEqual(['b/real']);
  });
  it('when the only difference heals before its confirm, the sides are in sync', async () => {
    const [blue, pink] = pair('small', 30, false);
    blue.put('b', 'inflight', clock('a', 1));
    const flaky = hooked(pink, (call) => {
      if (call === 2) pink.put('b', 'inflight', clock('a', 1));
    });
    const lines: ExchangeLogLine[] = [];
    const r = await runExchange([blue], [flaky], fastOptions({ logger: (l) => lines.push(l) }));
    expect(r).toMatchObject({ state: 'root_compare', inSync: true, rounds: 2 });
    expect(lines.map((l) => l.code)).toEqual(['EX001', 'EX010', 'EX002', 'EX009']);
  });
});

describe('maxResults and large deltas', () => {
  it('one exchange handles at most maxResults segments; the caller loops until in sync', async () => {
    const [blue, pink] = pair('medium', 400);
    // Distinct new clocks: the same clock change on two keys of one segment cancels out (see the report on src/hash).
    for (let i = 0; i < 300; i++) blue.put('b', `key${i}`, clock('a', 2 + i));
    let loops = 0;
    for (;;) {
      const r = await runExchange([blue], [pink], fastOptions({ maxResults: 16, largeDelta: 'report' }));
      if (r.inSync) break;
      expect(r.largeDelta).toBe(false);
      expect(r.deltas.length).toBeGreaterThan(0);
      expect(r.deltas.length).toBeLessThanOrEqual(16);
      for (const d of r.deltas) pink.put(d.bucket, d.key, d.blue!);
      loops++;
      expect(loops).toBeLessThan(60);
    }
    expect(loops).toBeGreaterThanOrEqual(Math.ceil(300 / 16));
  });
  it('an empty sink is a large delta: one uncapped exchange finds every key', async () => {
    const blue = new MemorySource({ treeSize: 'xxsmall' });
    const pink = new MemorySource({ treeSize: 'xxsmall' });
    for (let i = 0; i < 500; i++) blue.put('b', `key${i}`, clock('a', 1));
    const r = await runExchange([blue], [pink], fastOptions({ maxResults: 8 }));
    expect(r).toMatchObject({ largeDelta: true, truncated: false, state: 'clock_compare' });
    expect(r.deltas).toHaveLength(500);
  });
  it('a classic walk with a large delta skips the branches and fetches the clocks of every dirty branch', async () => {
    const blue = new MemorySource({ treeSize: 'xxsmall', hashes: false });
    const pink = new MemorySource({ treeSize: 'xxsmall', hashes: false });
    for (let i = 0; i < 500; i++) blue.put('b', `key${i}`, clock('a', 1));
    const r = await runExchange([blue], [pink], fastOptions({ maxResults: 8 }));
    expect(r).toMatchObject({ largeDelta: true, truncated: false, state: 'clock_compare', walk: 'classic', rounds: 3 });
    expect(r.deltas).toHaveLength(500);
    expect(blue.calls.fetchBranches).toBe(0);
    expect(r.bytes.pink).toBe(2 * 16 * 4);
  });
  it("largeDelta 'report' stops at the branch level so the caller can switch to range replication", async () => {
    const blue = new MemorySource({ treeSize: 'xxsmall' });
    const pink = new MemorySource({ treeSize: 'xxsmall' });
    for (let i = 0; i < 500; i++) blue.put('b', `key${i}`, clock('a', 1));
    const r = await runExchange([blue], [pink], fastOptions({ largeDelta: 'report' }));
    expect(r).toMatchObject({ largeDelta: true, truncated: true, inSync: false, state: 'root_compare', deltas: [] });
    expect(r.dirtyBranches).toBe(16);
  });
});

describe('partial (range) scope', () => {
  it('compares only the keys in range, with trees of the scope size', async () => {
    const [blue, pink] = pair('large', 40);
    blue.put('b', 'key5', clock('a', 9));
    blue.put('other', 'x', clock('a', 1));
    const r = await runExchange([blue], [pink], fastOptions({ scope: { kind: 'range', treeSize: 'xxsmall', bucket: 'b' } }));
    expect(names(r.deltas)).toEqual(['b/key5']);
  });
});

describe('failures', () => {
  const hanging = (inner: MemorySource): ExchangeSource => ({
    describe: () => inner.describe(),
    fetchRoot: () => new Promise(() => undefined),
    fetchBranches: () => new Promise(() => undefined),
    fetchClocks: () => new Promise(() => undefined),
    fetchHashes: () => new Promise(() => undefined),
  });

  it('a source that throws ends the exchange in state error, with the cause', async () => {
    const [blue, pink] = pair('small', 10);
    blue.put('b', 'x', clock('a', 1));
    const boom = new Error('connection reset');
    const broken = hooked(pink, (call) => {
      if (call === 3) throw boom;
    });
    const r = await runExchange([blue], [broken], fastOptions());
    expect(r.state).toBe('error');
    expect(r.error).toBeInstanceOf(AaeError);
    expect(r.error?.code).toBe('EXCHANGE_FAILED');
    expect(r.error?.cause).toBe(boom);
    expect(r.error?.details).toMatchObject({ side: 'pink', stage: 'branch_compare' });
  });
  it('a malformed answer is an error too', async () => {
    const [blue, pink] = pair('small', 10);
    const bad: ExchangeSource = { ...hooked(pink, () => undefined), fetchHashes: () => Promise.resolve(new Uint32Array(3)) };
    const r = await runExchange([blue], [bad], fastOptions());
    expect(r).toMatchObject({ state: 'error' });
  });
  it('times out in state timeout, even against a source that ignores its signal', async () => {
    const [blue, pink] = pair('small', 10);
    const r = await runExchange([blue], [hanging(pink)], { timeoutMs: 30 });
    expect(r).toMatchObject({ state: 'timeout', stage: 'root_compare', inSync: false });
    expect(r.error?.code).toBe('TIMEOUT');
  });
  it('a real pause counts toward the timeout', async () => {
    const [blue, pink] = pair('small', 10);
    blue.put('b', 'x', clock('a', 1));
    const r = await runExchange([blue], [pink], { timeoutMs: 40, pauseMs: 10_000 });
    expect(r.state).toBe('timeout');
  });
  it('abort rejects with ABORTED', async () => {
    const [blue, pink] = pair('small', 10);
    const controller = new AbortController();
    const running = runExchange([blue], [hanging(pink)], { signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    const pre = new AbortController();
    pre.abort();
    await expect(runExchange([blue], [pink], { signal: pre.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
  it('refuses incompatible sources before any exchange', async () => {
    const blue = new MemorySource({ treeSize: 'small', seed: 1 });
    const pink = new MemorySource({ treeSize: 'small', seed: 2 });
    await expect(runExchange([blue], [pink], fastOptions())).rejects.toMatchObject({ code: 'CLUSTERS_INCOMPATIBLE' });
    const other = new MemorySource({ treeSize: 'large', seed: 1 });
    await expect(runExchange([blue], [other], fastOptions())).rejects.toMatchObject({ code: 'CLUSTERS_INCOMPATIBLE' });
    expect(blue.calls.fetchHashes + pink.calls.fetchHashes + other.calls.fetchHashes).toBe(0);
    await expect(runExchange([], [pink])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('progress and timings', () => {
  it('reports every round and times every stage reached', async () => {
    const [blue, pink] = pair('large', 10);
    blue.put('b', 'x', clock('a', 1));
    const seen: string[] = [];
    const r = await runExchange([blue], [pink], fastOptions({ onProgress: (p) => seen.push(`${p.round}:${p.stage}`) }));
    expect(seen).toHaveLength(r.rounds);
    expect(seen.at(-1)).toBe('4:clock_compare');
    expect(Object.keys(r.timings).sort()).toEqual(['branch_compare', 'clock_compare', 'pause', 'root_compare']);
  });
});
