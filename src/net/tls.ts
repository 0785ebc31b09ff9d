/**
 * Mutual TLS material: a CA that signs every node and client certificate, and each side's own
 * certificate and key. Files are read and checked when a server or a client is made (a missing
 * file, a certificate that is not PEM, a key that does not match its certificate): a mistake shows
 * at start-up, naming the file, not as a refused handshake later. docs/OPERATIONS.md gives the
 * openssl lines for a test CA.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ServerCredentials, credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { AaeError } from '../errors.js';

export interface TlsFiles {
  /** The CA certificate(s) that sign the peers' certificates (PEM). */
  ca: string;
  /** This side's certificate (PEM; a chain may follow it). */
  cert: string;
  /** This side's private key (PEM). */
  key: string;
}

/** Plaintext, on loopback only (see address.ts), or mutual TLS. */
export type Transport = { kind: 'insecure' } | { kind: 'tls'; files: TlsFiles };

interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(resolve(file));
  } catch (e) {
    throw new AaeError('NET_CONFIG_INVALID', `${what} ${file} cannot be read: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads the three files and checks that they are what they claim to be. */
export function loadTls(files: TlsFiles): TlsMaterial {
  const ca = read(files.ca, 'TLS CA');
  const cert = read(files.cert, 'TLS certificate');
  const key = read(files.key, 'TLS key');
  let certificate: X509Certificate;
  try {
    new X509Certificate(ca);
  } catch (e) {
    throw new AaeError('NET_CONFIG_INVALID', `TLS CA ${files.ca} is not a PEM certificate: ${(e as Error).message}`, { cause: e });
  }
  try {
    certificate = new X509Certificate(cert);
  } catch (e) {
    throw new AaeError('NET_CONFIG_INVALID', `TLS certificate ${files.cert} is not a PEM certificate: ${(e as Error).message}`, { cause: e });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new AaeError('NET_CONFIG_INVALID', `TLS key ${files.key} is not a PEM private key: ${(e as Error).message}`, { cause: e });
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new AaeError('NET_CONFIG_INVALID', `TLS key ${files.key} does not belong to certificate ${files.cert}`);
  return { ca, cert, key };
}

/** A server's credentials: mutual TLS (a client must present a certificate the CA signed), or plaintext. */
export function serverCredentials(t: Transport): ServerCredentials {
  if (t.kind === 'insecure') return ServerCredentials.createInsecure();
  const m = loadTls(t.files);
  return ServerCredentials.createSsl(m.ca, [{ private_key: m.key, cert_chain: m.cert }], true);
}

/** A client's credentials: its certificate, and the CA the node's certificate must chain to. */
export function channelCredentials(t: Transport): ChannelCredentials {
  if (t.kind === 'insecure') return credentials.createInsecure();
  const m = loadTls(t.files);
  return credentials.createSsl(m.ca, m.key, m.cert);
}
