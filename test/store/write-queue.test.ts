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

// Between the drain finding no task and it stopping there is a microtask: a push landing there
// must still run, however many microtasks after the last flush settled it comes.
const settlesWithin = <T>(p: Promise<T>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

const queues: Array<[string, () => WriteQueue<number, number>]> = [
  ['depth 1', () => new WriteQueue<number, number>(async (ops) => ops, 100)],
  [
    'depth 2, flushes that release',
    () =>
      new WriteQueue<number, number>(async (ops, release) => {
        release();
        await new Promise((r) => setTimeout(r, 1));
        return ops;
      }, 100, 2),
  ],
];

for (const [what, make] of queues) {
  test(`a push made any number of microtasks after the last flush settles still runs (${what})`, async () => {
    const stranded: number[] = [];
    for (let ticks = 0; ticks < 12; ticks++) {
      const q = make();
      let second: Promise<number[]> | undefined;
      await q.push([1]).then(async () => {
        for (let t = 0; t < ticks; t++) await null;
        second = q.push([2]);
      });
      // let the chain that pushes run
      for (let t = 0; t < 20; t++) await null;
      if (!(await settlesWithin(second!, 200))) stranded.push(ticks);
    }
    expect(stranded).toEqual([]);
  });
}

test('a flush that throws synchronously rejects its callers and the queue goes on', async () => {
  const unhandled: unknown[] = [];
  const on = (r: unknown): void => void unhandled.push(r);
  process.prependListener('unhandledRejection', on);
  try {
    const q = new WriteQueue<number, number>((ops) => {
      if (ops.includes(13)) throw new Error('sync');
      return Promise.resolve(ops);
    }, 1);
    const bad = q.push([13]);
    bad.catch(() => undefined);
    const good = q.push([14]);
    expect(await settlesWithin(bad, 200)).toBe(true);
    expect(await settlesWithin(good, 200)).toBe(true);
  } finally {
    await new Promise((r) => setTimeout(r, 10));
    process.removeListener('unhandledRejection', on);
  }
  expect(unhandled).toEqual([]);
});
