import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aae } from './helpers.js';
import { BASE_TIME, HOUR, plantDrift } from './drift.js';

/**
 * `aae inspect`: counts of differing keys (never of segments it did not count), caps that say how
 * to lift them, and the picture — checked in headless Chromium (Debian's, never downloaded): its
 * text, its links from a summary cell to that cell's keys, and the pixels of the time histogram,
 * where a replication outage must show as a band.
 */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let dir = '';
let source = '';
let sink = '';
let planted = new Set<string>();
const OUTAGE: [number, number] = [BASE_TIME + 5 * HOUR, BASE_TIME + 7 * HOUR];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-inspect-'));
  ({ source, sink, planted } = await plantDrift(dir, {
    shared: 3_000,
    missingOnSink: 600,
    missingOnSource: 100,
    sinkNewer: 100,
    tombstones: 50,
    concurrent: 20,
    buckets: ['users', 'orders'],
    outage: OUTAGE,
    base: BASE_TIME,
  }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface InspectJson {
  summary: { total: number; ahead: { source: number; sink: number; both: number } };
  dirtySegments: number;
  segmentsCounted: number;
  segmentsTruncated: boolean;
  liftCap?: string;
  profile: { time: { counts: number[]; untimed: number }; sides: Array<{ cluster: string; partitions: number[]; nodes: Record<string, number> }> };
  pairs: Array<{ segments: Array<{ segment: number; sourceKeys: number; sinkKeys: number; differing: number }>; differing: number }>;
}

describe('aae inspect', () => {
  test('counts differing keys, per segment and in all, by bucket, kind, side, time, partition and node', async () => {
    const r = await aae('inspect', source, sink, '--json', '--quiet');
    expect(r.code).toBe(1);
    const j = r.json<InspectJson>();
    expect(j.summary.total).toBe(planted.size);
    expect(j.summary.ahead).toEqual({ source: 650, sink: 200, both: 20 });
    expect(j.segmentsTruncated).toBe(false);
    expect(j.segmentsCounted).toBe(j.dirtySegments);
    const segs = j.pairs[0]!.segments;
    // Every segment shown was counted, and counts its differing keys (not every key it holds).
    expect(segs.every((s) => s.differing >= 1 && s.differing <= Math.max(s.sourceKeys, s.sinkKeys))).toBe(true);
    expect(segs.reduce((n, s) => n + s.differing, 0)).toBe(planted.size);
    // Time: every differing key has a time; the profile's per-side views each count every key once.
    expect(j.profile.time.counts.reduce((a, b) => a + b, 0) + j.profile.time.untimed).toBe(planted.size);
    for (const side of j.profile.sides) {
      expect(side.partitions.reduce((a, b) => a + b, 0)).toBe(planted.size);
      expect(Object.values(side.nodes).reduce((a, b) => a + b, 0)).toBe(planted.size);
    }
  });

  test('a cap on the segments counted says so, counts only what it counted, and says how to lift it', async () => {
    const j = (await aae('inspect', source, sink, '--json', '--quiet', '--max-segments', '10')).json<InspectJson>();
    expect(j).toMatchObject({ segmentsCounted: 10, segmentsTruncated: true });
    expect(j.liftCap).toContain('--max-segments 0');
    expect(j.pairs[0]!.segments).toHaveLength(10);
    expect(j.summary.total).toBe(j.pairs[0]!.differing);
    expect(j.summary.total).toBeLessThan(planted.size);
    const t = await aae('inspect', source, sink, '--quiet', '--max-segments', '10');
    expect(t.stdout).toMatch(/counted 10 of [\d,]+ dirty segments: --max-segments 0 counts them all/);
    // The segments table shows only counted segments: ten rows, each with its differing keys.
    const table = t.stdout.slice(t.stdout.indexOf('differing keys │'));
    const rows = table.split('\n').filter((l) => /^│ \d/.test(l));
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(Number(row.split('│').at(-2)!.trim())).toBeGreaterThan(0);
  });

  test('the picture, in headless Chromium: totals, a cell that links to its keys, and an outage drawn as a band', async () => {
    const html = join(dir, 'drift.html');
    expect((await aae('inspect', source, sink, '--html', html, '--quiet')).code).toBe(1);
    let ctx: BrowserContext | undefined;
    const profile = await mkdtemp(join(tmpdir(), 'aae-chromium-'));
    try {
      ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1000, height: 900 } });
      const page = await ctx.newPage();
      await page.goto(`file://${html}`);
      expect(await page.locator('#title').textContent()).toBe(`prod ↔ dr: ${planted.size} differing keys`);

      // The users × missing cell links to a list of exactly such keys.
      const row = page.locator('#summary tbody tr', { has: page.locator('th', { hasText: /^users$/ }) });
      const link = row.locator('td').nth(1).locator('a');
      const count = Number((await link.textContent())!.replace(/,/g, ''));
      expect(count).toBe([...planted].filter((p) => p.startsWith('users/') && p.includes(' missing ')).length);
      await link.click();
      const target = page.locator(new URL(page.url()).hash);
      await expect.poll(() => target.locator('h3').textContent()).toContain('users · missing on one side');
      const keys = (await target.locator('li').allTextContents()).map((t) => t.split(' ')[0]!);
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) expect([...planted].some((p) => p.startsWith(`users/${k} missing `))).toBe(true);

      // Pixels of the histogram: decode its screenshot in the page and find the bar colour by column.
      const shot = await page.locator('#histogram').screenshot();
      // (A script string: the test's types have no DOM; the page has one.)
      const columns = (await page.evaluate(`(async () => {
        const img = new Image();
        img.src = 'data:image/png;base64,${shot.toString('base64')}';
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        const data = g.getImageData(0, 0, c.width, c.height).data;
        const out = [];
        for (let x = 0; x < c.width; x++) {
          let hit = false;
          for (let y = 0; y < c.height - 24 && !hit; y++) {
            const i = (y * c.width + x) * 4;
            hit = data[i] > 170 && data[i + 1] < 120 && data[i + 2] < 80; // the bars' orange-red
          }
          out.push(hit);
        }
        return out;
      })()`)) as boolean[];
      const share = (from: number, to: number) => {
        const slice = columns.slice(Math.floor(from * columns.length), Math.floor(to * columns.length));
        return slice.filter(Boolean).length / slice.length;
      };
      // The histogram spans the base time (the other kinds' versions) to the outage's end: the
      // first 5/7 of it is empty but for the spike at its start; the outage fills the last 2/7.
      expect(share(0, 0.02)).toBeGreaterThan(0);
      expect(share(0.05, 0.7)).toBe(0);
      expect(share(0.73, 0.99)).toBeGreaterThan(0.9);
    } finally {
      await ctx?.close();
      await rm(profile, { recursive: true, force: true });
    }
  });
});
