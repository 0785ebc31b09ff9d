import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A throwaway CA and certificates for the tests, made with the openssl lines docs/OPERATIONS.md
 * gives operators (so those lines are tested): a CA, a node certificate for 127.0.0.1 and
 * localhost, a client certificate, and a second CA's client certificate that the nodes must refuse.
 */
export interface TestPki {
  dir: string;
  ca: string;
  nodeCert: string;
  nodeKey: string;
  clientCert: string;
  clientKey: string;
  /** Another CA, which signed nothing the nodes hold. */
  otherCa: string;
  /** A client certificate signed by another CA. */
  strangerCert: string;
  strangerKey: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.pem`);
}

function issue(dir: string, ca: string, name: string, san: string | undefined): void {
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, san === undefined ? 'extendedKeyUsage=clientAuth\n' : `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-days', '3650', '-extfile', ext, '-out', `${name}.pem`);
}

/** One more node certificate from the test CA, its subjectAltName `san` (e.g. 'IP:10.9.9.9'). */
export function issueNodeCert(pki: TestPki, name: string, san: string): { cert: string; key: string } {
  issue(pki.dir, 'ca', name, san);
  return { cert: join(pki.dir, `${name}.pem`), key: join(pki.dir, `${name}-key.pem`) };
}

export function makePki(dir: string): TestPki {
  makeCa(dir, 'ca');
  issue(dir, 'ca', 'node', 'IP:127.0.0.1,DNS:localhost');
  issue(dir, 'ca', 'client', undefined);
  makeCa(dir, 'other-ca');
  issue(dir, 'other-ca', 'stranger', undefined);
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    ca: p('ca.pem'),
    nodeCert: p('node.pem'),
    nodeKey: p('node-key.pem'),
    clientCert: p('client.pem'),
    clientKey: p('client-key.pem'),
    otherCa: p('other-ca.pem'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger-key.pem'),
  };
}
