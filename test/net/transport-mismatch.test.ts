import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultSpec, type ClientTls, type ClusterSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { AaeError, isAaeError } from '../../src/errors.js';
import { RemoteNode, clusterCopy, openCluster, type ServedCluster, type Transport } from '../../src/net/index.js';
import { classify, explain, isMismatch, type Finding } from '../../src/net/diagnose.js';
import { aae } from '../cli/helpers.js';
import { clientDir, serveNode, type ServedNode } from '../support/served.js';
import { makePki, type TestPki } from '../support/tls.js';

/**
 * A client whose transport does not fit the node's — TLS against plaintext, either way round, a
 * CA that did not sign the node, a certificate the node's CA did not sign — is told so
 * (NET_TLS_MISMATCH, exit 2), not that the node timed out or is down; a node that is down is
 * reported in words, with gRPC's text in `details` only. Real `aae node serve` processes.
 */
let dir: string;
let pki: TestPki;
let spec: ClusterSpec;
let plain: ServedNode;
let secure: ServedNode;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-mismatch-'));
  pki = makePki(dir);
  spec = defaultSpec('mm', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'xxsmall' });
  for (const d of ['plain', 'secure']) await (await EmbeddedCluster.create(join(dir, d), spec)).close();
  [plain, secure] = await Promise.all([
    serveNode(join(dir, 'plain'), 'n1'),
    serveNode(join(dir, 'secure'), 'n1', { flags: ['--tls-cert', pki.nodeCert, '--tls-key', pki.nodeKey, '--tls-ca', pki.ca] }),
  ]);
});

afterAll(async () => {
  for (const n of [plain, secure]) n?.process.kill('SIGTERM');
  await Promise.all([plain?.exited, secure?.exited]);
  await rm(dir, { recursive: true, force: true });
});

const clientTls = (): ClientTls => ({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
const asTransport = (t: ClientTls): Transport => (t === 'insecure' ? { kind: 'insecure' } : { kind: 'tls', files: t });

const cases: { name: string; node: () => ServedNode; tls: () => ClientTls; reason: Finding; says: RegExp }[] = [
  { name: 'a TLS client, a plaintext node', node: () => plain, tls: clientTls, reason: 'node-not-tls', says: /does not speak TLS/ },
  { name: 'a plaintext client, a TLS node', node: () => secure, tls: () => 'insecure', reason: 'node-wants-tls', says: /speaks TLS.*"insecure"/ },
  { name: 'a client whose CA did not sign the node', node: () => secure, tls: () => ({ ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey }), reason: 'node-certificate-untrusted', says: /not signed by the CA/ },
  { name: "a client certificate the node's CA did not sign", node: () => secure, tls: () => ({ ca: pki.ca, cert: pki.strangerCert, key: pki.strangerKey }), reason: 'client-certificate-refused', says: /refused this client's certificate/ },
];

describe('a transport that does not fit the node', () => {
  for (const c of cases) {
    test(`${c.name}: NET_TLS_MISMATCH naming the node, from a call and from the CLI`, async () => {
      const address = c.node().address;
      const remote = new RemoteNode('n1', address, { transport: asTransport(c.tls()) });
      const e = await remote.info().catch((err: unknown) => err);
      await remote.close();
      expect(isAaeError(e, 'NET_TLS_MISMATCH'), String(e)).toBe(true);
      const err = e as AaeError;
      expect(err.details).toMatchObject({ node: 'n1', address, reason: c.reason });
      expect(err.message).toContain(`node n1 (${address})`);
      expect(err.message).toMatch(c.says);
      expect(err.message).not.toMatch(/UNAVAILABLE|No connection established|Last error/);

      const client = await clientDir(join(dir, `client-${c.reason}`), spec, { n1: address }, c.tls());
      // Other commands stop at the refusal (exit 2); status shows it as the node's row, still exit 2.
      const compare = await aae('inspect', client);
      expect(compare.code, compare.stderr).toBe(2);
      expect(compare.stderr).toContain('[NET_TLS_MISMATCH]');
      expect(compare.stderr).toMatch(c.says);
      expect(compare.stderr).not.toMatch(/did not answer|TIMEOUT/);
      const r = await aae('cluster', 'status', client);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toContain('no: [NET_TLS_MISMATCH]');
      expect(r.stdout).toMatch(c.says);
      const json = await aae('cluster', 'status', client, '--json');
      expect(json.code, json.stderr).toBe(2);
      expect(json.json<{ nodes: { reachable: boolean; code: string }[] }>().nodes[0]).toMatchObject({ reachable: false, code: 'NET_TLS_MISMATCH' });
    });
  }
});

describe('a node that is not the one cluster.json describes', () => {
  test('CLUSTER_SPEC_INVALID names what the node is and what cluster.json says; status shows it as its row among the others', async () => {
    // The plaintext node serves cluster mm with ring 8; this cluster.json names two nodes, the
    // second at that address, with ring 16: the node is refused, and n1 (down) still gets its row.
    const other = defaultSpec('mm', { nodeCount: 2, ringSize: 16, nVal: 1, treeSize: 'xxsmall' });
    const client = await clientDir(join(dir, 'client-wrong-ring'), other, { n1: '127.0.0.1:1', n2: plain.address }, 'insecure');
    const inspect = await aae('inspect', client);
    expect(inspect.code, inspect.stderr).toBe(2);
    expect(inspect.stderr).toContain('[CLUSTER_SPEC_INVALID]');
    expect(inspect.stderr).toContain(`it is node 'n1'`);
    expect(inspect.stderr).toContain('its ring is 8/nVal 1/xxsmall');
    expect(inspect.stderr).toContain('where cluster.json says 16/nVal 1/xxsmall');
    const r = await aae('cluster', 'status', client, '--json');
    expect(r.code, r.stderr).toBe(2);
    const rows = r.json<{ nodes: { node: string; reachable: boolean; code: string; error: string }[] }>().nodes;
    expect(rows.map((n) => [n.node, n.reachable, n.code])).toEqual([
      ['n1', false, 'NODE_UNAVAILABLE'],
      ['n2', false, 'CLUSTER_SPEC_INVALID'],
    ]);
    expect(rows[1]!.error).toContain('where cluster.json says 16');
  });
});

describe('a node that is down', () => {
  test('NODE_UNAVAILABLE says, in words, that nothing accepts connections at its address; the raw gRPC text is in details', async () => {
    // Port 1 (tcpmux) on loopback: nothing listens there.
    const address = '127.0.0.1:1';
    const remote = new RemoteNode('n1', address, { transport: asTransport(clientTls()) });
    const e = await remote.info().catch((err: unknown) => err);
    await remote.close();
    expect(isAaeError(e, 'NODE_UNAVAILABLE'), String(e)).toBe(true);
    const err = e as AaeError;
    expect(err.message).toBe(`node n1 (${address}) is unavailable: nothing accepts connections there (connection refused): is \`aae node serve\` running on that address?`);
    expect(err.details).toMatchObject({ node: 'n1', address, reason: 'refused' });
    expect(String(err.details?.['transport'])).toMatch(/^14 UNAVAILABLE: No connection established/);

    const client = await clientDir(join(dir, 'client-down'), spec, { n1: address }, clientTls());
    const r = await aae('cluster', 'status', client, '--json');
    expect(r.code, r.stderr).toBe(1);
    const row = r.json<{ nodes: { reachable: boolean; error: string; code: string }[] }>().nodes[0]!;
    expect(row.reachable).toBe(false);
    expect(row.code).toBe('NODE_UNAVAILABLE');
    expect(row.error).toContain('connection refused');
    expect(row.error).not.toMatch(/did not answer|UNAVAILABLE:/);
  });
});

describe('a node that is down when the cluster opens', () => {
  test('is found down by a second dial, not after the channel has sat through its retries (a plain call does, in the same run)', async () => {
    const address = '127.0.0.1:1';
    const remote = new RemoteNode('n1', address, { transport: { kind: 'insecure' } });
    let t = Date.now();
    await remote.info().catch(() => undefined);
    const callMs = Date.now() - t;
    await remote.close();
    const client = await clientDir(join(dir, 'client-open-down'), spec, { n1: address });
    t = Date.now();
    const c = (await openCluster(client)) as ServedCluster;
    const openMs = Date.now() - t;
    try {
      const probe = c.probes[0]!;
      expect('error' in probe && probe.error.code).toBe('NODE_UNAVAILABLE');
      expect('error' in probe && probe.error.details?.['reason']).toBe('refused');
      // The retries' backoff (about 3 s in all) is what the open no longer waits for; the dial is milliseconds.
      expect(openMs, `open ${openMs} ms, a call ${callMs} ms`).toBeLessThan(callMs / 2);
    } finally {
      await c.close();
    }
    // A sync's look at which copies it reaches asks the same way.
    t = Date.now();
    const copy = await clusterCopy(client);
    const copyMs = Date.now() - t;
    expect(copy.id).toBe('nodes:n1=?');
    expect(copy.unknown).toEqual([{ node: 'n1', why: expect.stringContaining('connection refused') }]);
    expect(copyMs, `copy ${copyMs} ms, a call ${callMs} ms`).toBeLessThan(callMs / 2);
  });
});

describe('probes', () => {
  test('calls that fail together share one connection probe: a burst of failures does not open a probe each', async () => {
    // A TCP server that hangs up on every connection: each call fails, and each failure is diagnosed.
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const remote = new RemoteNode('n1', address, { transport: { kind: 'insecure' }, callTimeoutMs: 3_000 });
    try {
      const calls = 12;
      const errors = await Promise.all(Array.from({ length: calls }, () => remote.info().catch((e: unknown) => e)));
      for (const e of errors) expect(e, String(e)).toBeInstanceOf(AaeError);
      // gRPC's own attempts, plus probes: one shared probe keeps the total well under one per call.
      expect(connections).toBeLessThan(calls);
    } finally {
      await remote.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('explain (pure)', () => {
  const findings: Finding[] = ['refused', 'unreachable', 'unresolved', 'no-answer', 'connects', 'node-not-tls', 'node-wants-tls', 'node-certificate-untrusted', 'node-certificate-name', 'client-certificate-refused', 'handshake-failed', 'other'];
  const node = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
  const at = fc.record({ host: fc.constantFrom('127.0.0.1', '10.0.0.5', '::1', 'n1.dc1.example'), port: fc.integer({ min: 1, max: 65535 }) });
  // gRPC's raw text: the kind of thing that must never reach the message.
  const raw = fc.string({ minLength: 1, maxLength: 80 }).map((s) => `14 UNAVAILABLE: No connection established. Last error: ${s}`);

  test('the message names the node and its address and holds none of the raw text; details keep it; the code follows the finding', () => {
    fc.assert(
      fc.property(fc.constantFrom(...findings), node, at, fc.boolean(), raw, fc.option(fc.string({ maxLength: 40 }), { nil: undefined }), (finding, name, where, tls, transport, probeRaw) => {
        const address = where.host.includes(':') ? `[${where.host}]:${where.port}` : `${where.host}:${where.port}`;
        const e = explain({ finding, ...(probeRaw === undefined ? {} : { raw: probeRaw }) }, name, where, address, tls, transport);
        expect(e.message).toContain(`node ${name} (${address})`);
        expect(e.message).not.toContain('UNAVAILABLE');
        expect(e.message).not.toContain('Last error');
        expect(e.details).toMatchObject({ node: name, address, reason: finding, transport });
        const mismatch = isMismatch(finding) && (tls || finding === 'node-wants-tls');
        expect(e.code).toBe(mismatch ? 'NET_TLS_MISMATCH' : 'NODE_UNAVAILABLE');
        expect(e.kind).toBe(mismatch ? 'input' : 'failure');
      }),
    );
  });

  test('a TCP error before the connection is made is never a mismatch; a TLS alert to a plaintext client always is', () => {
    const errno = fc.constantFrom('ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EADDRNOTAVAIL');
    fc.assert(
      fc.property(errno, fc.boolean(), (code, tls) => {
        expect(isMismatch(classify(code, false, false, tls))).toBe(false);
      }),
    );
    const alert = fc.constantFrom('CERTIFICATE_REQUIRED', 'UNKNOWN_CA', 'HANDSHAKE_FAILURE', 'PROTOCOL_VERSION').map((a) => `ERR_SSL_TLSV13_ALERT_${a}`);
    fc.assert(
      fc.property(alert, (code) => {
        expect(classify(code, true, false, false)).toBe('node-wants-tls');
      }),
    );
  });
});
