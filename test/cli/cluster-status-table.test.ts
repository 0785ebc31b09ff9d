import { createServer } from 'node:net';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { aae, withTempDir } from './helpers.js';

/** A loopback port nothing listens on: taken from the system, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * `aae cluster status` with a node down: its error message (node, address, the cause in words, a
 * hint) runs past 150 characters, and in the table's cell it widened every row with it. The row
 * says no and the code; the whole message follows the table; --json keeps it in `error`.
 */
test('a node down: its row stays narrow, its whole message follows the table, and --json keeps it', async () => {
  await withTempDir(async (dir) => {
    const cluster = join(dir, 'dc1');
    const port = await closedPort();
    const made = await aae('cluster', 'create', cluster, '--nodes', '2', '--ring-size', '8', '--n-val', '2', '--address', `n2=127.0.0.1:${port}`, '--insecure');
    expect(made.code, made.stderr).toBe(0);

    const json = await aae('cluster', 'status', cluster, '--json');
    expect(json.code, json.stderr).toBe(1);
    const n2 = json.json<{ nodes: Array<{ node: string; reachable: boolean; code?: string; error?: string }> }>().nodes.find((n) => n.node === 'n2')!;
    expect(n2).toMatchObject({ reachable: false, code: 'NODE_UNAVAILABLE' });
    expect(n2.error!.length).toBeGreaterThan(100);

    const r = await aae('cluster', 'status', cluster);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    const table = lines.filter((l) => /^[┌│└├]/.test(l));
    const widths = table.map((l) => [...l].length);
    // Every row as wide as the header.
    const reachableRow = table.find((l) => l.startsWith('│ n1 '))!;
    expect(new Set(widths).size).toBe(1);
    expect(reachableRow).toMatch(/│ yes\s+│/);
    expect(table.find((l) => l.startsWith('│ n2 '))).toMatch(/│ no: \[NODE_UNAVAILABLE\] … │/);
    // The reachable column is as wide as its widest short cell, not as the message.
    const column = (l: string): string => l.split('│')[3]!;
    expect(column(table.find((l) => l.startsWith('│ node '))!).length).toBe(' no: [NODE_UNAVAILABLE] … '.length);
    // The whole message, once, after the table.
    expect(lines.at(-1)).toBe(`n2: [NODE_UNAVAILABLE] ${n2.error}`);
  });
});
