// The store contract on PostgreSQL: one database per run (created and dropped here), each `open` a pool,
// a cache and a listening connection of its own, as another sidecar would have.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStores } from '../../server/store/open-stores.js';
import { createTestDatabase, postgresAvailable } from '../support/postgres.js';
import { storeContract } from './contract.js';

/** Every row of every table in the database as text; bytes as hex, so a secret stored as bytes is found too. */
async function dumpDatabase(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    const text = (v: unknown) =>
      Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    const lines: string[] = [];
    for (const { name } of tables) {
      const { rows } = await client.query({ text: `SELECT * FROM ${name}`, rowMode: 'array' });
      for (const row of rows as unknown[][]) lines.push(`${name}: ${row.map(text).join('|')}`);
    }
    return lines.join('\n');
  } finally {
    await client.end();
  }
}

describe.skipIf(!postgresAvailable)('PostgreSQL stores', () => {
  storeContract(
    'PostgreSQL',
    async () => {
      const db = await createTestDatabase('contract');
      const dir = mkdtempSync(join(tmpdir(), 'fleetguard-pg-'));
      return {
        open: async ({ pack } = {}) =>
          openStores({ db: join(dir, 'log.db'), store: db.url, cache: 'kept', ...(pack ? { pack } : {}) }),
        dump: () => dumpDatabase(db.url),
        dispose: async () => {
          await db.drop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    { decisionsReadBack: true, attemptsShared: true },
  );

  it('dumps every table it finds (the secret search covers the whole database)', async () => {
    const db = await createTestDatabase('dump');
    try {
      const stores = await openStores({ db: ':memory:', store: db.url });
      await stores.keys.issue('user', 'u-dump');
      await stores.keys.createProvisioningKey({ fleet: 'f', organization: 'o', expiresAt: Date.now() });
      await stores.close();
      const dump = await dumpDatabase(db.url);
      for (const table of ['credentials', 'provisioning_keys', 'fleetguard_schema'])
        expect(dump).toContain(`public.${table}: `);
    } finally {
      await db.drop();
    }
  });
});
