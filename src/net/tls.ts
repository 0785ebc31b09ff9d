/**
 * Mutual TLS material: a CA that signs every node and client certificate, and each side's own
 * certificate and key. Files are read and checked when a server or a client is made (a missing
 * file, a certificate that is not PEM, a key that does not match its certificate): a mistake shows
 * at start-up, naming the file, not as a refused handshake later. docs/OPERATIONS.md gives the
 * openssl lines for a test CA.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { ServerCredentials, credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
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

/**
 * The TLS server name (SNI) a client sends to a node addressed by an IP. RFC 6066 allows only host
 * names there (Node warns DEP0123 when an IP is set), and the right thing is to send none, as
 * gRPC's C core does; but grpc-js sets its target's host as the server name unless
 * `grpc.ssl_target_name_override` gives another (grpc-js 1.14 has no way to send none), so an IP-addressed client
 * sends this name instead. `.invalid` is reserved (RFC 6761): it names no real host, and a node
 * ignores it (a node server has one certificate and no SNI callback).
 */
export const IP_ADDRESS_SERVER_NAME = 'aae-node.invalid';

/**
 * The node's certificate must name `host`, the host the client dialled: an IP in its
 * subjectAltName IP entries, a host name in its DNS entries (Node's own check). The name grpc-js
 * passes in is ignored: for an IP it is IP_ADDRESS_SERVER_NAME.
 */
export function nodeIdentityCheck(host: string): (name: string, cert: PeerCertificate) => Error | undefined {
  return (_name, cert) => checkServerIdentity(host, cert);
}

/** A client's credentials and channel options for a node at `host`. */
export interface ClientSecurity {
  credentials: ChannelCredentials;
  options: ChannelOptions;
}

/**
 * A client's credentials: its certificate, the CA the node's certificate must chain to, and the
 * check that the certificate names `host`. A host name is sent as the TLS server name as usual; an
 * IP is not (see IP_ADDRESS_SERVER_NAME).
 */
export function clientSecurity(t: Transport, host: string): ClientSecurity {
  if (t.kind === 'insecure') return { credentials: credentials.createInsecure(), options: {} };
  const m = loadTls(t.files);
  const creds = credentials.createSsl(m.ca, m.key, m.cert, { checkServerIdentity: nodeIdentityCheck(host) });
  return { credentials: creds, options: isIP(host) === 0 ? {} : { 'grpc.ssl_target_name_override': IP_ADDRESS_SERVER_NAME } };
}
