import { expect, test } from 'vitest';
import { netBench } from '../../src/bench/net.js';
import { BENCH_SUITES } from '../../src/bench/suites.js';

test('aae bench net is registered and reports its figures at a tiny scale, with served nodes as processes (shape only, never timings)', async () => {
  expect(BENCH_SUITES).toContain(netBench);
  const lines: string[] = [];
  const r = await netBench.run({ scale: 0.002, log: (l) => lines.push(l) });
  expect(r.suite).toBe('net');
  expect(r.params).toMatchObject({ keys: 2000, differences: 100, nodes: 2, treeSize: 'large' });
  const byName = new Map(r.figures.map((f) => [f.name, f]));
  for (const name of [
    'in sync, served: time',
    'in sync, served: tree data on the wire (accumulators of the tree folds)',
    'in sync, served: every byte on the sockets (requests, replies, HTTP/2 and gRPC framing)',
    '100 differences, served: time',
    '100 differences, served: every byte on the sockets',
    'object_stats over the served cluster',
  ]) expect(byName.has(name), name).toBe(true);
  // Bytes are not timings: an in-sync compare moves one 8-byte sketch a node asked, whatever the
  // machine (ring 16, nVal 2, 2 nodes: one node a side covers the ring at offset 0).
  expect(byName.get('in sync, served: tree data on the wire (accumulators of the tree folds)')!.value).toBe(2 * 8);
  expect(byName.get('100 differences, served: every byte on the sockets')!.value).toBeGreaterThan(0);
  for (const f of r.figures) if (f.target !== undefined) expect(typeof f.met).toBe('boolean');
  expect(lines.length).toBeGreaterThan(0);
}, 120_000);
