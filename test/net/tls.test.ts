import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultSpec, type ClusterSpec } from '../../src/cluster/index.js';
import { EmbeddedCluster } from '../../src/coordinator/index.js';
import { isAaeError } from '../../src/errors.js';
import { RemoteNode, messageCodec, openCluster } from '../../src/net/index.js';
import { aae } from '../cli/helpers.js';
import { clientDir, serveNode, type ServedNode } from '../support/served.js';
import { makePki, type TestPki } from '../support/tls.js';

/** Mutual TLS against a real `aae node serve` process: who gets in, who gets nothing. */
let dir: string;
let pki: TestPki;
let spec: ClusterSpec;
let node: ServedNode;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aae-tls-'));
  pki = makePki(dir);
  spec = defaultSpec('secure', { nodeCount: 1, ringSize: 8, nVal: 1, treeSize: 'xxsmall' });
  await (await EmbeddedCluster.create(join(dir, 'server'), spec)).close();
  node = await serveNode(join(dir, 'server'), 'n1', { flags: ['--tls-cert', pki.nodeCert, '--tls-key', pki.nodeKey, '--tls-ca', pki.ca] });
});

afterAll(async () => {
  node?.process.kill('SIGTERM');
  await node?.exited;
  await rm(dir, { recursive: true, force: true });
});

/** An Info call with raw grpc-js credentials, answering the status code or 'ok'. */
function rawInfo(creds: ReturnType<typeof credentials.createSsl>): Promise<string> {
  const client = new Client(node.address, creds);
  const { encode } = messageCodec('InfoRequest');
  const { decode } = messageCodec('InfoReply');
  return new Promise((resolve) => {
    client.makeUnaryRequest('/tictac_aae.node.v1.Node/Info', encode, (b: Buffer) => decode(b), { version: { major: 1, minor: 0 } }, new Metadata(), { deadline: Date.now() + 5000 }, (err: ServiceError | null) => {
      client.close();
      resolve(err === null ? 'ok' : `${err.code}: ${err.details}`);
    });
  });
}

describe('mutual TLS', () => {
  test('a client with a certificate from the CA reads and writes through cluster.json alone', async () => {
    const tls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
    const c = await openCluster(await clientDir(join(dir, 'client'), spec, { n1: node.address }, tls));
    try {
      await c.put({ bucket: 'b', key: 'k', value: 'secret' });
      expect(new TextDecoder().decode((await c.get('b', 'k'))!.value)).toBe('secret');
    } finally {
      await c.close();
    }
  });

  test('a client without a certificate, or with one from another CA, gets nothing; the node keeps serving', async () => {
    const ca = readFileSync(pki.ca);
    expect(await rawInfo(credentials.createSsl(ca))).not.toBe('ok');
    expect(await rawInfo(credentials.createSsl(ca, readFileSync(pki.strangerKey), readFileSync(pki.strangerCert)))).not.toBe('ok');
    const stranger = new RemoteNode('n1', node.address, { transport: { kind: 'tls', files: { ca: pki.ca, cert: pki.strangerCert, key: pki.strangerKey } } });
    const e = await stranger.info().catch((err: unknown) => err);
    await stranger.close();
    expect(isAaeError(e, 'NET_TLS_MISMATCH'), String(e)).toBe(true);
    expect(await rawInfo(credentials.createSsl(ca, readFileSync(pki.clientKey), readFileSync(pki.clientCert)))).toBe('ok');
  });

  test('a plaintext client on the TLS port is dropped at the door with NS002', async () => {
    await new Promise<void>((resolve) => {
      const [host, port] = [node.address.slice(0, node.address.lastIndexOf(':')), Number(node.address.slice(node.address.lastIndexOf(':') + 1))];
      const s = connect(port, host, () => s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => undefined);
    });
    await expect.poll(() => node.log()).toMatch(/"code":"NS002".*not a TLS handshake/);
  });

  test('plaintext is refused off loopback, on either side', async () => {
    const r = await aae('node', 'serve', join(dir, 'server'), 'n1', '--listen', '10.1.2.3:7000', '--insecure');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[NET_CONFIG_INVALID]');
    const e = await openCluster(await clientDir(join(dir, 'far'), spec, { n1: '10.1.2.3:7000' }, 'insecure')).catch((err: unknown) => err);
    expect(isAaeError(e, 'NET_CONFIG_INVALID')).toBe(true);
    // And at create, rather than by every command after it: nothing is written.
    const made = await aae('cluster', 'create', join(dir, 'far-create'), '--nodes', '1', '--ring-size', '8', '--n-val', '1', '--address', 'n1=10.1.2.3:7000', '--insecure');
    expect(made.code).toBe(2);
    expect(made.stderr).toContain('[NET_CONFIG_INVALID]');
    expect(await import('node:fs').then((fs) => fs.existsSync(join(dir, 'far-create', 'cluster.json')))).toBe(false);
    const near = await aae('cluster', 'create', join(dir, 'near-create'), '--nodes', '1', '--ring-size', '8', '--n-val', '1', '--address', 'n1=127.0.0.1:7000', '--insecure');
    expect(near.code, near.stderr).toBe(0);
    const half = await aae('node', 'serve', join(dir, 'server'), 'n1', '--tls-cert', pki.nodeCert);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('[USAGE]');
  });
});
