/**
 * Why a node could not be reached, in words an operator can act on.
 *
 * When a call fails because no connection could be made, grpc-js says only `14 UNAVAILABLE: No
 * connection established. Last error: …`, with Node's or OpenSSL's text after it, and a client whose
 * transport does not fit the node's (TLS against plaintext, a certificate from another CA) looks
 * the same as a node that is down. So after such a failure the client dials once more itself, with
 * the same transport, and watches how far it gets:
 *
 * - the TCP connection: refused, no route, no such host, no answer in time;
 * - the TLS handshake: the peer closes on a TLS hello (it does not speak TLS), its certificate does
 *   not chain to our CA or does not name the address we dialled, it refuses our certificate (an
 *   alert after our hello or right after the handshake);
 * - a plaintext client's TLS hello answered by a TLS server (the node wants TLS);
 * - or everything works (the node restarted between the two attempts).
 *
 * The probe is a handful of packets, made only after a call has failed and bounded by
 * PROBE_TIMEOUT_MS; it sends an HTTP/2 preface and SETTINGS frame at most, never a request.
 * `explain` turns what it found into the error: NET_TLS_MISMATCH for a transport that does not fit
 * (retrying will not help: one side's configuration must change), NODE_UNAVAILABLE otherwise, its
 * message naming the node, its address and the cause; raw texts go to `details`.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { AaeError } from '../errors.js';
import type { HostPort } from './address.js';
import { loadTls, nodeIdentityCheck, type Transport } from './tls.js';

/** How long the probe may take: a reachable node answers a handshake in milliseconds. */
export const PROBE_TIMEOUT_MS = 2_000;

/** What a second connection attempt found. Stable names: they appear in an error's `details.reason`. */
export type Finding =
  | 'refused' // nothing accepts connections at the address
  | 'unreachable' // no route to the host
  | 'unresolved' // the host name does not resolve
  | 'no-answer' // no connection, or no handshake, within PROBE_TIMEOUT_MS
  | 'connects' // the probe got through: the failure did not repeat
  | 'node-not-tls' // a TLS client: the node answered our TLS hello with a close or bytes that are not TLS
  | 'node-wants-tls' // a plaintext client: the node answered a TLS hello with TLS
  | 'node-certificate-untrusted' // the node's certificate does not chain to our CA (or has expired)
  | 'node-certificate-name' // the node's certificate does not name the address we dialled
  | 'client-certificate-refused' // the node refused our certificate: an alert, or a close right after the handshake
  | 'handshake-failed' // another TLS failure (no common protocol version or cipher)
  | 'other'; // a connection error of another kind

export interface Probe {
  finding: Finding;
  /** The probe's own error, as Node reported it (code and message), when it had one. */
  raw?: string;
}

const TCP_ERRORS: Readonly<Record<string, Finding>> = {
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ENOTFOUND: 'unresolved',
  EAI_AGAIN: 'unresolved',
  ETIMEDOUT: 'no-answer',
};

/** OpenSSL's errors for bytes that are not a TLS record (a plaintext server answering our hello). */
const NOT_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|RECORD_LAYER_FAILURE|UNEXPECTED_EOF/;
/** Alerts a server sends when it refuses the client's certificate. */
const CERT_REFUSED = /ALERT_(CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|ACCESS_DENIED|DECRYPT_ERROR)/;

/** An HTTP/2 client preface and an empty SETTINGS frame: a node that accepted us answers with its SETTINGS. */
const H2_HELLO = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/** Classifies an error the probe met; `handshook`: the TLS handshake had completed. */
export function classify(code: string | undefined, tcpConnected: boolean, handshook: boolean, tls: boolean): Finding {
  if (code !== undefined && !tcpConnected && TCP_ERRORS[code] !== undefined) return TCP_ERRORS[code];
  if (!tls) {
    // A plaintext client's TLS hello: any TLS alert means the node speaks TLS.
    return code !== undefined && code.startsWith('ERR_SSL_') && !NOT_TLS.test(code) ? 'node-wants-tls' : tcpConnected ? 'connects' : 'other';
  }
  if (code !== undefined && CERT_REFUSED.test(code)) return 'client-certificate-refused';
  if (!tcpConnected) return 'other';
  // Our certificates were fine and the node closed before its HTTP/2 SETTINGS: a Node TLS server
  // that rejects a client's certificate destroys the connection after the handshake, with no alert.
  if (handshook) return 'client-certificate-refused';
  if (code === undefined || code === 'ECONNRESET' || code === 'EPIPE' || NOT_TLS.test(code)) return 'node-not-tls';
  return code.startsWith('ERR_SSL_') ? 'handshake-failed' : 'other';
}

/** Dials `at` once with `transport` and reports how far it got (see the file comment). Never throws. */
export function probeConnection(at: HostPort, transport: Transport, timeoutMs = PROBE_TIMEOUT_MS): Promise<Probe> {
  const tls = transport.kind === 'tls';
  // Verified here, not by Node, so that an untrusted certificate is a finding rather than an error.
  const options: ConnectionOptions = { host: at.host, port: at.port, ALPNProtocols: ['h2'], rejectUnauthorized: false, checkServerIdentity: nodeIdentityCheck(at.host) };
  // No IP as the server name (RFC 6066; Node warns DEP0123): without one, Node sends none.
  if (isIP(at.host) === 0) options.servername = at.host;
  if (tls) {
    const m = loadTls(transport.files);
    Object.assign(options, { ca: m.ca, cert: m.cert, key: m.key });
  }
  return new Promise<Probe>((resolve) => {
    let tcpConnected = false;
    let handshook = false;
    let socket: TLSSocket;
    const done = (p: Probe): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(p);
    };
    const timer = setTimeout(() => done({ finding: 'no-answer' }), timeoutMs);
    try {
      socket = tlsConnect(options);
    } catch (e) {
      clearTimeout(timer);
      resolve({ finding: 'other', raw: (e as Error).message });
      return;
    }
    socket.once('connect', () => (tcpConnected = true));
    socket.once('secureConnect', () => {
      handshook = true;
      if (!tls) return done({ finding: 'node-wants-tls' });
      // Node sets authorizationError to the code of the chain's failure, or of the identity check's.
      const why = socket.authorizationError as unknown as string | Error | null | undefined;
      if (why !== null && why !== undefined) {
        const raw = typeof why === 'string' ? why : why.message;
        return done({ finding: raw === 'ERR_TLS_CERT_ALTNAME_INVALID' ? 'node-certificate-name' : 'node-certificate-untrusted', raw });
      }
      // TLS 1.3: the node checks our certificate after our Finished; a refusal arrives as an alert now.
      socket.once('data', () => done({ finding: 'connects' }));
      socket.write(H2_HELLO);
    });
    socket.on('error', (e: Error & { code?: string }) => done({ finding: classify(e.code, tcpConnected, handshook, tls), raw: `${e.code ?? ''} ${e.message}`.trim() }));
    socket.on('close', () => done({ finding: classify(undefined, tcpConnected, handshook, tls) }));
  });
}

/** Plain words for each finding: what happened, and where to look. */
function words(f: Finding, host: string, tls: boolean): string {
  switch (f) {
    case 'refused':
      return 'nothing accepts connections there (connection refused): is `aae node serve` running on that address?';
    case 'unreachable':
      return 'there is no route to that address from here';
    case 'unresolved':
      return `the host name ${host} does not resolve`;
    case 'no-answer':
      return `the address did not answer within ${PROBE_TIMEOUT_MS} ms (a firewall, or the node is overloaded)`;
    case 'connects':
      return 'a connection failed, and the next one succeeded: the node may have restarted; try again';
    case 'other':
      return 'the connection failed';
    case 'node-not-tls':
      return 'the node does not speak TLS: it may be served with --insecure, while this cluster.json gives TLS files (or the address is another service)';
    case 'node-wants-tls':
      return 'the node speaks TLS, but this cluster.json says "tls": "insecure": give the CA, certificate and key';
    case 'node-certificate-untrusted':
      return "the node's certificate is not signed by the CA this cluster.json names (or it has expired)";
    case 'node-certificate-name':
      return `the node's certificate does not name ${host} (its subjectAltName needs ${isIP(host) === 0 ? 'DNS' : 'IP'}:${host})`;
    case 'client-certificate-refused':
      return "the node refused this client's certificate (it closed the connection after the TLS handshake): is the certificate signed by the CA of the node's --tls-ca?";
    case 'handshake-failed':
      return tls ? 'the TLS handshake failed: the node and this client share no protocol version or cipher' : 'the connection failed';
  }
}

const MISMATCH: ReadonlySet<Finding> = new Set(['node-not-tls', 'node-wants-tls', 'node-certificate-untrusted', 'node-certificate-name', 'client-certificate-refused', 'handshake-failed']);

/** True when the finding is a transport that does not fit the node's: a configuration to change, not a node to wait for. */
export function isMismatch(f: Finding): boolean {
  return MISMATCH.has(f);
}

/**
 * The error a client reports for a call that failed without a connection (`transport`: the raw
 * gRPC text), given what a probe found. The message names the node, its address and the cause;
 * `details` carry `node`, `address`, `reason` (the finding) and the raw texts.
 */
export function explain(probe: Probe, node: string, at: HostPort, address: string, tls: boolean, transport: string, cause?: unknown): AaeError {
  const mismatch = isMismatch(probe.finding) && (tls || probe.finding === 'node-wants-tls');
  const details: Record<string, unknown> = { node, address, reason: probe.finding, transport };
  if (probe.raw !== undefined) details['probe'] = probe.raw;
  const what = words(probe.finding, at.host, tls);
  return mismatch
    ? new AaeError('NET_TLS_MISMATCH', `cannot connect to node ${node} (${address}): ${what}`, { cause, details })
    : new AaeError('NODE_UNAVAILABLE', `node ${node} (${address}) is unavailable: ${what}`, { cause, details });
}
