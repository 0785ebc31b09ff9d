import pg from 'pg';
import { expect, test } from 'vitest';
import { usePostgres } from '../support/postgres.js';

const pgs = usePostgres();

test('the private server runs with logical decoding on', async () => {
  const c = new pg.Client({ connectionString: await pgs.db('smoke') });
  await c.connect();
  try {
    const r = await c.query<{ wal_level: string }>('SHOW wal_level');
    expect(r.rows[0]!.wal_level).toBe('logical');
  } finally {
    await c.end();
  }
});
