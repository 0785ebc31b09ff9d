/**
 * The node server's front door: a connection reaches gRPC only if its first bytes are what the
 * server speaks — a TLS handshake record (type 22, version 3) on a TLS server, the HTTP/2 preface
 * on a plaintext one. Anything else (a port scanner, an HTTP/1 client, garbage, a plaintext client
 * on the TLS port) is dropped before gRPC sees it, and so is a connection silent for 10 s. The
 * bytes read are put back (unshift) for gRPC to read again.
 */
import type { Socket } from 'node:net';

/** A connection's first bytes must arrive within this long (a client that connects and says nothing holds a socket). */
const FIRST_BYTES_TIMEOUT_MS = 10_000;
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** A TLS record starts with its type (22: handshake) and the major version 3. */
const TLS_HANDSHAKE = Buffer.from([0x16, 0x03]);

export interface Verdict {
  /** The first bytes are right: hand the (paused, bytes put back) socket on. */
  pass(): void;
  /** The socket has been destroyed, for this reason, after this many bytes. */
  drop(reason: string, bytes: number): void;
}

/** Reads `socket`'s first bytes (it must be paused, as `pauseOnConnect` leaves it) and calls one of `verdict`'s. */
export function screen(socket: Socket, tls: boolean, verdict: Verdict): void {
  socket.on('error', () => undefined); // the owner hears of it on 'close'
  const expected = tls ? TLS_HANDSHAKE : HTTP2_PREFACE;
  let head = Buffer.alloc(0);
  const cleanup = (): void => {
    socket.off('data', onData);
    socket.off('timeout', onTimeout);
    socket.setTimeout(0);
  };
  const drop = (reason: string): void => {
    cleanup();
    socket.destroy();
    verdict.drop(reason, head.length);
  };
  function onData(chunk: Buffer): void {
    head = Buffer.concat([head, chunk]);
    const n = Math.min(head.length, expected.length);
    if (!head.subarray(0, n).equals(expected.subarray(0, n))) {
      drop(tls ? 'not a TLS handshake' : 'not the HTTP/2 preface');
      return;
    }
    if (head.length < expected.length) return;
    cleanup();
    socket.pause();
    socket.unshift(head);
    verdict.pass();
  }
  function onTimeout(): void {
    drop('no bytes in time');
  }
  socket.on('data', onData);
  socket.setTimeout(FIRST_BYTES_TIMEOUT_MS);
  socket.on('timeout', onTimeout);
  socket.resume();
}
