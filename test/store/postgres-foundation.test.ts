// The shared store's foundation on a real PostgreSQL: migrations under an advisory lock when several
// sidecars start at once, and the loopback proxy the outage tests cut.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../server/store/postgres/connection.js';
import { redactUrl } from '../../server/store/store-url.js';
import { migrate } from '../../server/store/postgres/migrations.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { startTcpProxy, throughProxy } from '../support/tcp-proxy.js';

describe.skipIf(!postgresAvailable)('PostgreSQL foundation', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('foundation');
  });
  afterAll(async () => db?.drop());

  it('runs each migration exactly once when eight processes migrate at the same moment', async () => {
    // Each migration appends a row: run twice, it would leave two.
    const migrations = [
      'CREATE TABLE ran (step integer NOT NULL)',
      'INSERT INTO ran VALUES (2)',
      'INSERT INTO ran VALUES (3)',
    ];
    const pools = Array.from({ length: 8 }, () => createPool(db.url, { max: 1 }));
    try {
      const versions = await Promise.all(pools.map((p) => migrate(p, migrations)));
      expect(versions).toEqual(Array(8).fill(3));
      const { rows } = await pools[0]!.query('SELECT step FROM ran ORDER BY step');
      expect(rows.map((r) => r.step)).toEqual([2, 3]);
      await expect(migrate(pools[0]!, migrations.slice(0, 2))).rejects.toThrow(
        'the store is at schema version 3, newer than this Fleetguard (2)',
      );
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('loses its connections when the proxy is cut and connects again once it is restored', async () => {
    const proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
    const pool = createPool(throughProxy(db.url, proxy), { max: 1, connectTimeoutMs: 500 });
    try {
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      proxy.cut();
      await expect(pool.query('SELECT 1')).rejects.toThrow();
      proxy.restore();
      expect((await pool.query('SELECT 2 AS two')).rows[0].two).toBe(2);
    } finally {
      await pool.end();
      await proxy.close();
    }
  });

  it('never shows a password in a location', () => {
    expect(redactUrl('postgres://fleet:s3cret@db.internal:5432/fleet')).toBe(
      'postgres://fleet:***@db.internal:5432/fleet',
    );
    expect(redactUrl('postgresql://db/fleet')).toBe('postgresql://db/fleet');
  });
});
