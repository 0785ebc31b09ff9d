import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server that can be told to stall: it then keeps every socket
 * open and drops the bytes both ways, as a hung network path or a frozen etcd does (as opposed to
 * refusing connections, which a client notices at once). Connections made during a stall are
 * accepted and stall too.
 */
export interface StallProxy {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  stall(): void;
  resume(): void;
  /**
   * The first request whose bytes contain `marker` reaches the server, but for `ms` from then no
   * reply does: a call that runs out of its deadline although the server applied it.
   */
  dropRepliesAfter(marker: Buffer, ms: number): void;
  close(): Promise<void>;
}

export async function stallProxy(target: string): Promise<StallProxy> {
  const { hostname, port } = new URL(target);
  let stalled = false;
  let marker: Buffer | null = null;
  let dropMs = 0;
  let repliesDroppedUntil = 0;
  const sockets = new Set<Socket>();
  const server = createServer((down) => {
    const up = connect(Number(port), hostname);
    const pair: Array<[Socket, Socket]> = [
      [down, up],
      [up, down],
    ];
    for (const [from, to] of pair) {
      sockets.add(from);
      const isReply = from === up;
      from.on('data', (d: Buffer) => {
        if (!isReply && marker !== null && d.includes(marker)) {
          marker = null;
          repliesDroppedUntil = Date.now() + dropMs;
        }
        if (stalled || (isReply && Date.now() < repliesDroppedUntil)) return;
        to.write(d);
      });
      from.on('error', () => from.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the stall proxy has no TCP address');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stall: () => (stalled = true),
    resume: () => (stalled = false),
    dropRepliesAfter: (m, ms) => {
      marker = m;
      dropMs = ms;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
