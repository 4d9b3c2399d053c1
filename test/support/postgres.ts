// PostgreSQL for tests: each test file (or test) gets a database of its own, created and dropped here.
// The server is the machine's (127.0.0.1:5432, trust authentication) unless FLEETGUARD_TEST_PG names
// another. Under CI (`CI=true`) a missing server fails the tests that need it; elsewhere they skip with a
// notice, so a laptop without PostgreSQL still runs the rest.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL = process.env.FLEETGUARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Resolved once per test file: whether PostgreSQL tests run here. Throws under CI when they cannot. */
export const postgresAvailable: boolean = await (async () => {
  if (await reachable()) return true;
  if (process.env.CI === 'true')
    throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL}, and under CI its tests must run`);
  console.warn(`notice: PostgreSQL is not reachable at ${ADMIN_URL}; its tests are skipped`);
  return false;
})();

function urlFor(database: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  /** A URL to the database, for the code under test. */
  url: string;
  /** Drops it, disconnecting whoever is still connected. */
  drop(): Promise<void>;
}

/** A new, empty database named for the test; drop it when done (afterAll / finally). */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `fleetguard_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: urlFor(name),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}
