/**
 * Addresses: `host:port`, `[v6]:port`. A listener or a node's address in cluster.json is parsed
 * once here; plaintext (`--insecure`) is allowed only where every address is on loopback.
 */
import { isIP } from 'node:net';
import { AaeError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host:port`; port 0 only when `allowZero` (a listener picking a free port). */
export function parseAddress(text: string, what: string, allowZero = false): HostPort {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535 || (port === 0 && !allowZero)) {
    throw new AaeError('NET_CONFIG_INVALID', `${what}: '${text}' is not host:port (e.g. 10.0.0.5:7001 or [::1]:7001)`);
  }
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && isIP(host) !== 6) throw new AaeError('NET_CONFIG_INVALID', `${what}: '${host}' is not an IPv6 address`);
  return { host, port };
}

export function formatAddress(a: HostPort): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** 127.0.0.0/8, ::1 and the name localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Plaintext only between processes of one machine: refuses an address off loopback. */
export function requireLoopback(a: HostPort, what: string): void {
  if (!isLoopback(a.host)) {
    throw new AaeError('NET_CONFIG_INVALID', `${what}: --insecure (plaintext) is refused for ${formatAddress(a)}: only loopback addresses (127.0.0.1, ::1, localhost) may go without TLS`);
  }
}
