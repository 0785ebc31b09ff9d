import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aae } from './helpers.js';
import { BASE_TIME, HOUR, named, plantDrift } from './drift.js';

/**
 * Complete listings and honest exits at scale: 20,000 planted differences of every kind, compared
 * by the CLI in-process and as a real process piped into `head`.
 */
const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');
const FAST = ['--pause-ms', '0'];

let dir = '';
let source = '';
let sink = '';
let planted = new Set<string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-listings-'));
  ({ source, sink, planted } = await plantDrift(dir, {
    shared: 5_000,
    missingOnSink: 14_000,
    missingOnSource: 2_000,
    sinkNewer: 2_000,
    tombstones: 1_500,
    concurrent: 500,
    buckets: ['users', 'orders', 'sessions'],
    outage: [BASE_TIME + 5 * HOUR, BASE_TIME + 7 * HOUR],
    base: BASE_TIME,
  }));
  expect(planted.size).toBe(20_000);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sh(command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a compare of 20,000 differences', () => {
  test('--output FILE.jsonl lists exactly the planted differences, each once; the summary counts them by bucket, kind and side', async () => {
    const file = join(dir, 'diff.jsonl');
    const r = await aae('compare', source, sink, ...FAST, '--output', file);
    expect(r.code).toBe(1);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const listed = lines.map((l) => named(JSON.parse(l) as { bucket: string; key: string; kind: string; ahead: string }));
    expect(listed).toHaveLength(20_000);
    expect(new Set(listed)).toEqual(planted);
    // The summary opens the output, then a sample of rows, then where the rest is.
    expect(r.stdout).toMatch(/differences: 20,000 \(prod ahead 15,500 · dr ahead 4,000 · concurrent 500\)/);
    expect(r.stdout).toContain(`all 20,000 are in ${file}`);
    expect(r.stdout.indexOf('missing on dr')).toBeLessThan(r.stdout.indexOf('key-'));
  });

  test('--json summarises every difference and caps its list, saying how to lift the cap', async () => {
    const j = await aae('compare', source, sink, ...FAST, '--json', '--quiet');
    const body = j.json<{ summary: { total: number; ahead: Record<string, number>; kinds: Record<string, unknown> }; differences: unknown[]; differencesOmitted: number; listAll: string; complete: boolean }>();
    expect(body.complete).toBe(true);
    expect(body.summary.total).toBe(20_000);
    expect(body.summary.ahead).toEqual({ source: 15_500, sink: 4_000, both: 500 });
    expect(body.summary.kinds).toEqual({
      missing: { source: 14_000, sink: 2_000, both: 0 },
      tombstone: { source: 1_500, sink: 0, both: 0 },
      concurrent: 500,
      newer: { source: 0, sink: 2_000, both: 0 },
    });
    expect(body.differences).toHaveLength(10_000);
    expect(body.differencesOmitted).toBe(10_000);
    expect(body.listAll).toContain('--json-lines');
  });

  test('piped into head -1, compare exits 1 (differences), not 0; a real process, under pipefail', async () => {
    const r = await sh(`node ${MAIN} compare ${source} ${sink} --pause-ms 0 --json-lines | head -1`);
    expect(r.code).toBe(1);
    expect(named(JSON.parse(r.stdout) as never)).toMatch(/ (missing|newer|tombstone|concurrent) /);
    // Its stderr is not a TTY: progress came as records, JSON lines with stable codes.
    const records = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { code: string; task: string });
    expect(records[0]).toMatchObject({ code: 'PR001', task: 'compare' });
  });
});

describe('a compare of a few hundred differences', () => {
  let small = { source: '', sink: '', planted: new Set<string>() };
  beforeAll(async () => {
    await mkdir(join(dir, 'small'));
    small = await plantDrift(join(dir, 'small'), { shared: 2_000, missingOnSink: 200, missingOnSource: 50, sinkNewer: 50, tombstones: 20, concurrent: 10, buckets: ['a', 'b'], outage: [BASE_TIME, BASE_TIME + HOUR], base: BASE_TIME });
  });

  test('--json-lines on stdout is the complete listing and nothing else', async () => {
    const r = await aae('compare', small.source, small.sink, ...FAST, '--json-lines', '--quiet');
    expect(r.code).toBe(1);
    const listed = r.stdout.trimEnd().split('\n').map((l) => named(JSON.parse(l) as never));
    expect(listed).toHaveLength(small.planted.size);
    expect(new Set(listed)).toEqual(small.planted);
  });

  test('progress records appear on a non-TTY stderr (start, done), none with --quiet; --json stdout stays JSON only; --log-level info adds the exchange codes', async () => {
    const r = await aae('compare', small.source, small.sink, ...FAST, '--json');
    expect(() => r.json()).not.toThrow();
    const records = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // At the default level (warn) a small compare logs nothing: the lines are progress records.
    expect(records.every((x) => String(x.code).startsWith('PR'))).toBe(true);
    expect(records[0]).toMatchObject({ code: 'PR001', task: 'compare', done: 0 });
    expect(records.slice(1, -1).every((x) => x.code === 'PR001')).toBe(true);
    expect(records.at(-1)).toMatchObject({ code: 'PR002', level: 'info', task: 'compare', unit: 'segments', differences: small.planted.size, msg: 'done' });
    expect(records.at(-1)!.done).toBe(records.at(-1)!.total);
    expect((await aae('compare', small.source, small.sink, ...FAST, '--json', '--quiet')).stderr).toBe('');

    const info = await aae('--log-level', 'info', 'compare', small.source, small.sink, ...FAST, '--json', '--quiet');
    const codes = info.stderr.trim().split('\n').map((l) => (JSON.parse(l) as { code: string }).code);
    expect(codes[0]).toBe('EX001');
    expect(codes).toContain('EX004');
    expect(codes.at(-1)).toBe('EX009');
    // The option may follow the command too.
    expect((await aae('compare', small.source, small.sink, ...FAST, '--quiet', '--json', '--log-level', 'info')).stderr).toContain('"code":"EX009"');
  });
});
