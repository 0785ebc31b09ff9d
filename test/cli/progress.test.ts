import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../../src/cli/log.js';
import { startProgress } from '../../src/cli/progress.js';
import { aae, withTempDir } from './helpers.js';

/** Progress on stderr: records on a non-TTY (start, each period, done), a bar on a TTY, nothing when quiet. */
function sink(isTTY: boolean) {
  let text = '';
  const out = { isTTY, write: (s: string) => (text += s) };
  const ticks: Array<() => void> = [];
  let cancelled = 0;
  return {
    out,
    text: () => text,
    records: () => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    tick: () => ticks.forEach((t) => t()),
    cancelled: () => cancelled,
    every: (tick: () => void) => {
      ticks.push(tick);
      return () => void cancelled++;
    },
  };
}

describe('progress', () => {
  test('on a non-TTY: a record when the task starts, one each period with the latest figures, and one when it stops (the timer then cancelled)', () => {
    const s = sink(false);
    const p = startProgress({ out: s.out, quiet: false, records: createLogger(s.out, 'info'), every: s.every }, 'repair', undefined, 'keys');
    expect(s.records()).toEqual([expect.objectContaining({ code: 'PR001', task: 'repair', done: 0, unit: 'keys', msg: 'progress' })]);
    p.update(10, { writes: 30 });
    p.update(20, { writes: 60 });
    expect(s.records()).toHaveLength(1); // updates alone print nothing: the period does
    s.tick();
    p.setTotal(100);
    s.tick();
    p.stop({ writes: 61 });
    p.stop();
    const r = s.records();
    expect(r.map((x) => x.code)).toEqual(['PR001', 'PR001', 'PR001', 'PR002']);
    expect(r[1]).toMatchObject({ done: 20, writes: 60 });
    expect(r[1]!.total).toBeUndefined();
    expect(r[2]).toMatchObject({ done: 20, total: 100 });
    expect(r[3]).toMatchObject({ code: 'PR002', done: 20, total: 100, writes: 61, msg: 'done' });
    expect(s.cancelled()).toBe(1);
  });

  test('--quiet prints nothing; a TTY gets a bar, not records', () => {
    const q = sink(false);
    const p = startProgress({ out: q.out, quiet: true, records: createLogger(q.out, 'info'), every: q.every }, 'load', 10);
    p.update(5);
    p.stop();
    expect(q.text()).toBe('');
    const t = sink(true);
    const bar = startProgress({ out: t.out, quiet: false, records: createLogger(t.out, 'info'), every: t.every }, 'load', 10, 'objects');
    bar.update(5);
    bar.stop();
    expect(t.text()).toContain('load [');
    expect(t.text()).toContain('5/10 objects');
    expect(t.text()).not.toContain('PR001');
  });

  test('load and repair report progress on a non-TTY stderr, and their --json stdout stays JSON', () =>
    withTempDir(async (tmp) => {
      const [a, b] = [join(tmp, 'a'), join(tmp, 'b')];
      for (const d of [a, b]) expect((await aae('cluster', 'create', d, '--nodes', '1', '--ring-size', '8', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
      const load = await aae('load', a, join(import.meta.dirname, '../../fixtures/sample.jsonl'), '--json');
      expect(() => load.json()).not.toThrow();
      const loadDone = load.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).at(-1);
      expect(loadDone).toMatchObject({ code: 'PR002', task: 'load', unit: 'objects', done: 3500, total: 3500, written: 3500 });
      const repair = await aae('repair', a, b, '--pause-ms', '0', '--json');
      expect(repair.code).toBe(0);
      expect(() => repair.json()).not.toThrow();
      const records = repair.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((x) => String(x.code).startsWith('PR'));
      expect(records[0]).toMatchObject({ code: 'PR001', task: 'repair' });
      expect(records.at(-1)).toMatchObject({ code: 'PR002', task: 'repair', unit: 'keys', done: 3500 });
    }));
});
