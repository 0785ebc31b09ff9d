import { afterAll, beforeAll } from 'vitest';
import { startLocalServer, type LocalServer } from '../../src/connect/pg/local-server.js';

/**
 * A private PostgreSQL server for one test file: initdb in a temp directory, wal_level=logical, a
 * free loopback port, the socket in the temp directory; stopped and removed after the file's last
 * test. Real, never a mock. fsync is off: the tests check logic, not the disk, and the machine
 * is shared (the bench keeps the defaults).
 */
export function usePostgres(): { server: LocalServer; db(name: string): Promise<string> } {
  const env = {
    server: undefined as unknown as LocalServer,
    db: (name: string) => env.server.createDatabase(name),
  };
  beforeAll(async () => {
    env.server = await startLocalServer({ settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
  }, 120_000);
  afterAll(async () => {
    await env.server?.stop();
  });
  return env;
}
