import fc from 'fast-check';
import { expect, test } from 'vitest';
import { defaultSpec, dominates, equalClocks, type AaeObject, type Clock } from '../../src/cluster/index.js';
import { EmbeddedCluster, type PutItem } from '../../src/coordinator/index.js';
import { aroundBatchWrites, expectTreesMatchData, sleep, useFileTempDir } from './helpers.js';

/**
 * The pipelined cluster queue against a model. A run is a list of put() calls and
 * putMany() calls (small batches), started without awaiting each other, with landings slowed so
 * flushes overlap. Law: per key, the write queued last is what every replica holds; a clockless
 * write's clock descends from the write of its key queued just before it (what it replaces);
 * trees equal data.
 */

const spec = defaultSpec('pipelaw', { ringSize: 8, nVal: 3, nodeCount: 3, treeSize: 'xxsmall' });
const dir = useFileTempDir();
let run = 0;

type W = { key: number; clock: Clock | null; deleted: boolean };
type Call = { many: false; w: W } | { many: true; ws: W[]; batch: number };

const wArb: fc.Arbitrary<W> = fc.record({
  key: fc.nat(3),
  clock: fc.option(fc.record({ entries: fc.constantFrom<Clock['entries']>([['x', 1]], [['x', 5]], [['a', 2], ['x', 3]]), lastModified: fc.constant(9) }), { freq: 3 }),
  deleted: fc.boolean(),
});
const callArb: fc.Arbitrary<Call> = fc.oneof(
  wArb.map((w) => ({ many: false as const, w })),
  fc.record({ many: fc.constant(true as const), ws: fc.array(wArb, { minLength: 1, maxLength: 8 }), batch: fc.integer({ min: 1, max: 3 }) }),
);

test('law: pipelined puts and putManys land in queue order with descending clocks', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(callArb, { minLength: 1, maxLength: 8 }), async (calls) => {
      const cluster = await EmbeddedCluster.create(`${dir.path}/c${run++}`, spec);
      try {
        // Landings slowed so that flushes overlap.
        aroundBatchWrites(cluster, async (write) => {
          await sleep(2);
          await write();
        });
        let seq = 0;
        const item = (w: W): PutItem => {
          const n = seq++;
          const base = { bucket: 'b', key: `k${w.key}`, value: `v${n}`, deleted: w.deleted, lastModified: 100 + n };
          return w.clock === null ? base : { ...base, clock: w.clock };
        };
        // queue order: put() pushes at once; putMany pushes its batches over time, so only a
        // single call's own writes have a known order relative to each other. Keep it exact by
        // giving each call its own keys' order: check per call only where the order is known.
        const order: Array<{ w: W; it: PutItem }> = [];
        const pending: Array<Promise<unknown>> = [];
        const returned = new Map<PutItem, AaeObject>();
        for (const c of calls) {
          if (!c.many) {
            const it = item(c.w);
            order.push({ w: c.w, it });
            pending.push(cluster.put(it).then((o) => returned.set(it, o)));
          } else {
            const its = c.ws.map((w) => ({ w, it: item(w) }));
            // wait for the putMany: its batches go to the queue over several ticks
            await Promise.all(pending.splice(0));
            await cluster.putMany(its.map((x) => x.it), { batchSize: c.batch });
            order.push(...its);
          }
        }
        await Promise.all(pending);
        // final state: last write per key
        const last = new Map<number, PutItem>();
        for (const { w, it } of order) last.set(w.key, it);
        for (const [k, it] of last) {
          const reps = await cluster.getReplicas('b', `k${k}`);
          for (const r of reps) {
            expect(r.object, `k${k}`).not.toBeNull();
            const want = it.deleted ? '' : String(it.value);
            expect(new TextDecoder().decode(r.object!.value), `k${k} on ${r.vnode}`).toBe(want);
            if (it.clock !== undefined) expect(equalClocks(r.object!.clock, it.clock)).toBe(true);
            else if (returned.has(it)) expect(equalClocks(r.object!.clock, returned.get(it)!.clock)).toBe(true);
          }
        }
        // put()s: a clockless one descends from the write of its key queued just before it (if that was a put() too)
        const prev = new Map<number, PutItem>();
        for (const { w, it } of order) {
          const p = prev.get(w.key);
          if (p !== undefined && it.clock === undefined && returned.has(it)) {
            const pc = p.clock ?? returned.get(p)?.clock;
            if (pc !== undefined) expect(dominates(returned.get(it)!.clock, pc), `k${w.key}`).toBe(true);
          }
          prev.set(w.key, it);
        }
        await expectTreesMatchData(cluster.vnodes(), spec, (a, b, msg) => expect(a, msg).toEqual(b));
      } finally {
        await cluster.close();
      }
    }),
    { numRuns: 25 },
  );
});
