import { expect, test } from 'vitest';
import { WriteQueue } from '../../src/store/write-queue.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

test('writes pushed while a flush runs go together into the next flush, in order; results map back to callers', async () => {
  const flushes: number[][] = [];
  const g = gate();
  const q = new WriteQueue<number, number>(async (ops) => {
    flushes.push([...ops]);
    if (flushes.length === 1) await g.promise;
    return ops.map((x) => x * 10);
  }, 100);
  const a = q.push([1]);
  await Promise.resolve();
  await Promise.resolve();
  const b = q.push([2, 3]);
  const c = q.push([4]);
  g.open();
  expect(await a).toEqual([10]);
  expect(await b).toEqual([20, 30]);
  expect(await c).toEqual([40]);
  expect(flushes).toEqual([[1], [2, 3, 4]]);
});

test('a flush never runs while another runs, and exclusive work runs between flushes in queue order', async () => {
  let running = 0;
  const log: string[] = [];
  const q = new WriteQueue<string, void>(async (ops) => {
    running++;
    expect(running).toBe(1);
    log.push(`flush ${ops.join('')}`);
    await new Promise((r) => setTimeout(r, 2));
    running--;
    return ops.map(() => undefined);
  }, 2);
  const all = [q.push(['a']), q.push(['b']), q.exclusive(async () => { expect(running).toBe(0); log.push('exclusive'); }), q.push(['c']), q.push(['d']), q.push(['e'])];
  await Promise.all(all);
  await q.idle();
  expect(log).toEqual(['flush ab', 'exclusive', 'flush cd', 'flush e']);
});

test('a failed flush rejects only its own callers; the queue goes on', async () => {
  const q = new WriteQueue<number, number>(async (ops) => {
    if (ops.includes(13)) throw new Error('unlucky');
    return ops;
  }, 1);
  const bad = q.push([13]);
  const good = q.push([14]);
  await expect(bad).rejects.toThrow('unlucky');
  expect(await good).toEqual([14]);
});

test('a flush that releases lets the next start, up to depth unfinished; each caller settles with its own flush', async () => {
  const gates = [gate(), gate(), gate()];
  let running = 0;
  let most = 0;
  const started: number[][] = [];
  const q = new WriteQueue<number, number>(async (ops, release) => {
    const i = started.push([...ops]) - 1;
    running++;
    most = Math.max(most, running);
    release();
    await gates[i]!.promise;
    running--;
    return ops.map((x) => -x);
  }, 1, 2);
  const settled: number[] = [];
  const ps = [1, 2, 3].map((x) => q.push([x]).then((r) => (settled.push(x), r)));
  await new Promise((r) => setTimeout(r, 5));
  expect(started).toEqual([[1], [2]]); // depth 2: the third waits for one to finish
  gates[1]!.open(); // the second finishes first
  await new Promise((r) => setTimeout(r, 5));
  expect(settled).toEqual([2]);
  expect(started).toEqual([[1], [2], [3]]);
  gates[0]!.open();
  gates[2]!.open();
  expect(await Promise.all(ps)).toEqual([[-1], [-2], [-3]]);
  expect(most).toBe(2);
});

test('exclusive work and idle() wait for every released flush to finish', async () => {
  const g = gate();
  const log: string[] = [];
  const q = new WriteQueue<string, void>(async (ops, release) => {
    release();
    if (ops[0] === 'a') await g.promise;
    log.push(`done ${ops.join('')}`);
    return ops.map(() => undefined);
  }, 1, 4);
  const a = q.push(['a']);
  const ex = q.exclusive(async () => void log.push('exclusive'));
  const b = q.push(['b']);
  let idle = false;
  const idleP = q.idle().then(() => (idle = true));
  await new Promise((r) => setTimeout(r, 5));
  expect(log).toEqual([]);
  expect(idle).toBe(false);
  g.open();
  await Promise.all([a, ex, b, idleP]);
  expect(log).toEqual(['done a', 'exclusive', 'done b']);
});

test('a write pushed while the last released flush finishes starts at once, beside it', async () => {
  const g = gate();
  const q = new WriteQueue<number, number>(async (ops, release) => {
    release();
    if (ops[0] === 1) await g.promise;
    return ops;
  }, 1, 2);
  const a = q.push([1]);
  await new Promise((r) => setTimeout(r, 2)); // the queue now waits for flush 1 to finish
  const b = q.push([2]);
  expect(await b).toEqual([2]); // flush 1 is still held: 2 ran beside it
  g.open();
  expect(await a).toEqual([1]);
  await q.idle();
});

test('depth must be a positive integer', () => {
  expect(() => new WriteQueue<number, number>(async (ops) => ops, 1, 0)).toThrow(RangeError);
});
