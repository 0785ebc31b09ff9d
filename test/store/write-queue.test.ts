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
