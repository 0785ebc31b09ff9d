import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultSpec, type ClusterSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { isAaeError, type AaeError } from '../../src/errors.js';
import { RemoteNode } from '../../src/net/index.js';
import { clientDir, MAIN, serveNode, type ServedNode } from '../support/served.js';
import { issueNodeCert, makePki, type TestPki } from '../support/tls.js';

/**
 * A node addressed by an IP over mutual TLS: the client sends no IP as the TLS server name (RFC 6066
 * allows only host names there, and Node warns DEP0123 when one is set), and still checks that the
 * node's certificate names the IP it dialled.
 */
let dir: string;
let pki: TestPki;
let spec: ClusterSpec;
let node: ServedNode;
/** A node whose certificate, from the right CA, names another address. */
let elsewhere: ServedNode;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-tls-id-'));
  pki = makePki(dir);
  spec = defaultSpec('ident', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'xxsmall' });
  for (const d of ['server', 'server-elsewhere']) await (await EmbeddedCluster.create(join(dir, d), spec)).close();
  const other = issueNodeCert(pki, 'elsewhere', 'IP:10.9.9.9,DNS:aae.example');
  [node, elsewhere] = await Promise.all([
    serveNode(join(dir, 'server'), 'n1', { flags: ['--tls-cert', pki.nodeCert, '--tls-key', pki.nodeKey, '--tls-ca', pki.ca] }),
    serveNode(join(dir, 'server-elsewhere'), 'n1', { flags: ['--tls-cert', other.cert, '--tls-key', other.key, '--tls-ca', pki.ca] }),
  ]);
});

afterAll(async () => {
  for (const n of [node, elsewhere]) n?.process.kill('SIGTERM');
  await Promise.all([node?.exited, elsewhere?.exited]);
  await rm(dir, { recursive: true, force: true });
});

/** Runs the built CLI in its own process (a warning is printed once per process, so in-process runs would hide it). */
function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('TLS to a node addressed by IP', () => {
  test('a client on 127.0.0.1 reads and writes with no DEP0123 warning', async () => {
    expect(node.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const client = await clientDir(join(dir, 'client'), spec, { n1: node.address }, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    const put = await cli('put', client, 'b', 'k', 'v');
    expect(put.code, put.stderr).toBe(0);
    const got = await cli('get', client, 'b', 'k', '--json');
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ value: 'v' });
    for (const r of [put, got]) {
      expect(r.stderr).not.toContain('DEP0123');
      expect(r.stderr).not.toContain('DeprecationWarning');
    }
  });

  test("a node whose certificate does not name the dialled IP is refused (its identity is still checked)", async () => {
    const remote = new RemoteNode('n1', elsewhere.address, { transport: { kind: 'tls', files: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } } });
    try {
      const e = await remote.info().catch((err: unknown) => err);
      expect(isAaeError(e, 'NET_TLS_MISMATCH'), String(e)).toBe(true);
      expect((e as AaeError).details).toMatchObject({ reason: 'node-certificate-name' });
      expect((e as AaeError).message).toContain("the node's certificate does not name 127.0.0.1 (its subjectAltName needs IP:127.0.0.1)");
      expect(String((e as AaeError).details?.['transport'])).toMatch(/altnames.*10\.9\.9\.9/);
    } finally {
      await remote.close();
    }
  });
});
