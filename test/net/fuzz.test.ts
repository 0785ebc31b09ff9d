import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Metadata, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { RemoteNode, messageCodec } from '../../src/net/index.js';
import { serveNode, type ServedNode } from '../support/served.js';

/**
 * Hostile bytes against a live `aae node serve`: garbage on the port, HTTP/2 prefaces followed by
 * junk, and gRPC calls whose messages are random, truncated or bit-flipped versions of real
 * requests, or well-formed messages with wrong contents. 10,000+ inputs in all: the server must
 * answer every call with a status (never hang, never crash), refuse what does not decode with a
 * coded log line, and still serve a good client afterwards.
 */
let dir: string;
let node: ServedNode;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-fuzz-'));
  await (await EmbeddedCluster.create(join(dir, 'c'), defaultSpec('fuzz', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'xxsmall' }))).close();
  node = await serveNode(join(dir, 'c'), 'n1', { flags: ['--insecure'] });
});

afterAll(async () => {
  node?.process.kill('SIGTERM');
  await node?.exited;
  await rm(dir, { recursive: true, force: true });
});

function hostPort(): [string, number] {
  const i = node.address.lastIndexOf(':');
  return [node.address.slice(0, i), Number(node.address.slice(i + 1))];
}

/** Writes `bytes` to a fresh connection, then waits for the server to close it (or 250 ms, then closes it). */
function rawConnection(bytes: Uint8Array): Promise<void> {
  const [host, port] = hostPort();
  return new Promise((resolve) => {
    const s = connect(port, host, () => s.end(Buffer.from(bytes)));
    const timer = setTimeout(() => s.destroy(), 250);
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.on('error', () => undefined);
  });
}

/** Real requests of every method, encoded: the seeds the mutations start from. */
function seeds(): Array<{ method: string; bytes: Uint8Array }> {
  const v = { major: 1, minor: 0 };
  const object = { bucket: 'b', key: enc('k'), clock: { actors: ['a'], counters: [1], lastModified: 5 }, value: enc('v'), deleted: false, indexes: [{ name: 'i', term: 't' }] };
  const msgs: Array<[string, string, unknown]> = [
    ['Info', 'InfoRequest', { version: v }],
    ['ReadHeads', 'ReadRequest', { version: v, vnode: 0, keys: [{ bucket: 'b', key: enc('k') }] }],
    ['ReadObjects', 'ReadRequest', { version: v, vnode: 1, keys: [{ bucket: 'b', key: enc('k') }, { bucket: 'c', key: enc('x') }] }],
    ['Write', 'WriteRequest', { version: v, vnode: 0, writes: [{ put: { object, ifDominates: true } }, { erase: { bucket: 'b', key: enc('k'), hasIfHash: true, ifHash: 7 } }] }],
    ['Fold', 'FoldRequest', { version: v, module: 'object_stats', versionRange: '', query: Buffer.from([0x80]), vnodes: [{ vnode: 0, keyspaces: [0] }], emit: false }],
  ];
  return msgs.map(([method, type, msg]) => ({ method, bytes: messageCodec(type).encode(msg) }));
}

const identity = (b: Buffer): Buffer => b;

/** One call with raw bytes as its message: resolves with the status code (0 when it succeeded). */
function rawCall(client: Client, method: string, bytes: Uint8Array): Promise<number> {
  const path = `/tictac_aae.node.v1.Node/${method}`;
  const options = { deadline: Date.now() + 10_000 };
  return new Promise((resolve) => {
    if (method === 'Fold') {
      const call = client.makeServerStreamRequest(path, identity, identity, Buffer.from(bytes), new Metadata(), options);
      call.on('data', () => undefined);
      call.on('error', (e: { code: number }) => resolve(e.code));
      call.on('end', () => resolve(0));
      return;
    }
    client.makeUnaryRequest(path, identity, identity, Buffer.from(bytes), new Metadata(), options, (err) => resolve(err === null ? 0 : err.code));
  });
}

/** A mutation of a seed: bit flips, a truncation, random bytes spliced in, or all random. */
const mutation = (seedBytes: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.array(fc.tuple(fc.nat(seedBytes.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
      const b = Uint8Array.from(seedBytes);
      for (const [i, x] of flips) b[i]! ^= x;
      return b;
    }),
    fc.nat(seedBytes.length - 1).map((n) => seedBytes.slice(0, n)),
    fc.tuple(fc.nat(seedBytes.length), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, junk]) => Uint8Array.from([...seedBytes.slice(0, i), ...junk, ...seedBytes.slice(i)])),
    fc.uint8Array({ maxLength: 64 }),
  );

async function pool<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

describe('a live node server under fuzzed and malformed input', () => {
  test('10,000+ hostile inputs: every call answered with a status, no crash, and a good client is served afterwards', async () => {
    let inputs = 0;
    // 1. Bytes that are not gRPC at all, and HTTP/2 prefaces followed by junk frames.
    const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 200 }), { numRuns: 150, seed: 11 });
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
    const junkFrames = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 200 }), { numRuns: 150, seed: 12 }).map((j) => Uint8Array.from([...preface, ...j]));
    await pool([...garbage, ...junkFrames], 16, async (b) => {
      await rawConnection(b);
      inputs++;
    });

    // 2. gRPC calls with mutated messages, and well-formed messages with wrong contents.
    const client = new Client(node.address, (await import('@grpc/grpc-js')).credentials.createInsecure());
    const codes = new Map<number, number>();
    try {
      const calls: Array<{ method: string; bytes: Uint8Array }> = [];
      for (const [i, s] of seeds().entries()) {
        for (const bytes of fc.sample(mutation(s.bytes), { numRuns: 2000, seed: 100 + i })) calls.push({ method: s.method, bytes });
      }
      const wrong: Array<[string, string, unknown]> = [
        ['Info', 'InfoRequest', { version: { major: 2, minor: 0 } }],
        ['Info', 'InfoRequest', {}],
        ['ReadHeads', 'ReadRequest', { version: { major: 1 }, vnode: 4_000_000_000, keys: [] }],
        ['Write', 'WriteRequest', { version: { major: 1 }, vnode: 0, writes: [{}] }],
        ['Write', 'WriteRequest', { version: { major: 1 }, vnode: 0, writes: [{ put: { object: { bucket: '', key: enc('k'), clock: { actors: ['b', 'a'], counters: [1, 2], lastModified: 1 } } } }] }],
        ['Write', 'WriteRequest', { version: { major: 1 }, vnode: 0, writes: [{ put: { object: { bucket: 'b', key: enc('k'), clock: { actors: ['a'], counters: [], lastModified: 1 } } } }] }],
        ['Fold', 'FoldRequest', { version: { major: 1 }, module: 'object_stats', query: Buffer.from([0xc1]), vnodes: [] }],
        ['Fold', 'FoldRequest', { version: { major: 1 }, module: 'merge_words_nval', query: Buffer.from([0x81, 0xa5, 0x77, 0x69, 0x64, 0x74, 0x68, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]), vnodes: [{ vnode: 0, keyspaces: [0] }] }],
        ['Fold', 'FoldRequest', { version: { major: 1 }, module: 'no_such', query: Buffer.alloc(0), vnodes: [{ vnode: 99, keyspaces: [1, 2, 3] }] }],
      ];
      for (const [method, type, msg] of wrong) calls.push({ method, bytes: messageCodec(type).encode(msg) });
      await pool(calls, 32, async ({ method, bytes }) => {
        const code = await rawCall(client, method, bytes);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        inputs++;
      });
    } finally {
      client.close();
    }
    expect(inputs).toBeGreaterThanOrEqual(10_000);
    // Nothing hung past its deadline or crashed the server: no DEADLINE_EXCEEDED, no UNAVAILABLE.
    expect(codes.get(status.DEADLINE_EXCEEDED) ?? 0).toBe(0);
    expect(codes.get(status.UNAVAILABLE) ?? 0).toBe(0);
    expect(codes.get(status.INVALID_ARGUMENT) ?? 0).toBeGreaterThan(1000);
    expect(node.process.exitCode).toBe(null);
    expect(node.log()).toMatch(/"code":"NS002"/);
    expect(node.log()).toMatch(/"code":"NS003"/);
    const good = new RemoteNode('n1', node.address, { transport: { kind: 'insecure' } });
    try {
      expect((await good.info()).name).toBe('n1');
    } finally {
      await good.close();
    }
  }, 300_000);
});
