import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../../src/cli/log.js';
import { PROGRESS_EVERY_MS, PROGRESS_QUIET_MS, startProgress, type ProgressOutcome } from '../../src/cli/progress.js';
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
      return () => {
        cancelled++;
        ticks.splice(ticks.indexOf(tick), 1);
      };
    },
  };
}

describe('progress', () => {
  test('on a non-TTY: a record when the task starts, one each period with the latest figures, and one when its command succeeded (the timer cancelled at stop)', () => {
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
    expect(s.records()).toHaveLength(3); // stopped, but whether the command succeeded is not known yet
    expect(s.cancelled()).toBe(1);
    p.end({ ok: true });
    p.end({ ok: false, code: 'INTERNAL' });
    const r = s.records();
    expect(r.map((x) => x.code)).toEqual(['PR001', 'PR001', 'PR001', 'PR002']);
    expect(r[1]).toMatchObject({ done: 20, writes: 60 });
    expect(r[1]!.total).toBeUndefined();
    expect(r[2]).toMatchObject({ done: 20, total: 100 });
    expect(r[3]).toMatchObject({ code: 'PR002', done: 20, total: 100, writes: 61, msg: 'done' });
    expect(s.cancelled()).toBe(1);
  });

  test('a period with nothing new prints nothing, until a quiet minute has passed: then one record shows life', () => {
    const s = sink(false);
    let t = 1_000_000;
    const p = startProgress({ out: s.out, quiet: false, records: createLogger(s.out, 'info'), every: s.every, now: () => t }, 'sync', undefined, 'checks');
    for (let i = 0; i < 29; i++) {
      t += PROGRESS_EVERY_MS;
      s.tick();
    }
    expect(s.records()).toHaveLength(1); // 58 s of waiting: only the first record
    t += PROGRESS_EVERY_MS;
    s.tick();
    expect(s.records()).toHaveLength(2); // a minute: one to show life
    p.update(1, { outcome: 'in_sync' });
    t += PROGRESS_EVERY_MS;
    s.tick();
    expect(s.records()).toHaveLength(3); // something new: at the next period
    expect(s.records()[2]).toMatchObject({ done: 1, outcome: 'in_sync' });
    t += PROGRESS_EVERY_MS;
    s.tick();
    expect(s.records()).toHaveLength(3);
    expect(PROGRESS_QUIET_MS).toBe(30 * PROGRESS_EVERY_MS);
  });

  test('law: the last record is the outcome, once; PR002 only when the command succeeded, PR003 with its code when it failed', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('update' as const), n: fc.nat(1000) }),
      fc.record({ op: fc.constant('tick' as const) }),
      fc.record({ op: fc.constant('stop' as const) }),
      fc.record({ op: fc.constant('end' as const), outcome: fc.oneof(fc.constant<ProgressOutcome>({ ok: true }), fc.constantFrom<ProgressOutcome>({ ok: false }, { ok: false, code: 'NODE_UNAVAILABLE' })) }),
    );
    const outcome = fc.oneof(fc.constant<ProgressOutcome>({ ok: true }), fc.constant<ProgressOutcome>({ ok: false, code: 'FOLD_ACC_OVERFLOW' }), fc.constant<ProgressOutcome>({ ok: false }));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), outcome, (steps, last) => {
        const s = sink(false);
        const p = startProgress({ out: s.out, quiet: false, records: createLogger(s.out, 'info'), every: s.every }, 'compare', undefined, 'segments');
        let first: ProgressOutcome | undefined;
        for (const x of steps) {
          if (x.op === 'update') p.update(x.n);
          else if (x.op === 'tick') s.tick();
          else if (x.op === 'stop') p.stop();
          else {
            first ??= x.outcome;
            p.end(x.outcome);
          }
        }
        first ??= last;
        p.end(last);
        s.tick(); // a tick after the end is cancelled: nothing follows the outcome
        const codes = s.records().map((r) => r.code);
        const terminal = codes.filter((c) => c !== 'PR001');
        expect(terminal).toEqual([first.ok ? 'PR002' : 'PR003']);
        expect(codes.at(-1)).toBe(terminal[0]);
        const end = s.records().at(-1)!;
        if (!first.ok) expect(end.error).toBe(first.code);
      }),
    );
  });

  test('a command that fails after its progress started ends its records with PR003 and its error code, never PR002', () =>
    withTempDir(async (tmp) => {
      const [a, b] = [join(tmp, 'a'), join(tmp, 'b')];
      expect((await aae('cluster', 'create', a, '--nodes', '1', '--ring-size', '8', '--n-val', '1', '--tree-size', 'small')).code).toBe(0);
      // Another seed: the exchange starts (its progress with it), then refuses to compare the trees.
      expect((await aae('cluster', 'create', b, '--nodes', '1', '--ring-size', '8', '--n-val', '1', '--tree-size', 'small', '--seed', '7')).code).toBe(0);
      expect((await aae('load', a, join(import.meta.dirname, '../../fixtures/sample.jsonl'), '-q')).code).toBe(0);
      const bucketSizes = join(import.meta.dirname, '../../examples/bucket-sizes.js');
      const runs: Array<[string[], string, string]> = [
        [['compare', a, b], 'compare', 'CLUSTERS_INCOMPATIBLE'],
        [['inspect', a, b], 'inspect', 'CLUSTERS_INCOMPATIBLE'],
        [['repair', a, b, '--pause-ms', '0'], 'repair', 'CLUSTERS_INCOMPATIBLE'],
        // The fold runs, and its accumulator outgrows the bound the query set.
        [['fold', a, bucketSizes, '--query', '{"maxBuckets": 1}'], 'fold bucket_sizes', 'FOLD_ACC_OVERFLOW'],
      ];
      for (const [argv, task, code] of runs) {
        const r = await aae(...argv);
        expect(r.code, argv.join(' ')).not.toBe(0);
        expect(r.stderr).toContain(`[${code}]`);
        const records = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((x) => String(x.code).startsWith('PR'));
        expect(records[0], argv.join(' ')).toMatchObject({ code: 'PR001', task });
        expect(records.map((x) => x.code), argv.join(' ')).not.toContain('PR002');
        expect(records.at(-1), argv.join(' ')).toMatchObject({ code: 'PR003', task, error: code, msg: 'failed' });
      }
    }));

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
