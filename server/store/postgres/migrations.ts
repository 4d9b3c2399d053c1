// Numbered schema migrations of the shared store; `fleetguard_schema.version` records how many have run.
// Append, never edit. Several sidecars may start at once: one advisory lock makes them run one at a time,
// and whoever comes second finds the work done.
import type { Pool } from './connection.js';

export const MIGRATIONS: readonly string[] = [
  // 1: nothing but the version table itself; the stores' tables come in the migrations after it.
  `SELECT 1`,
  // 2: the central decision log: every sidecar's decisions, shipped from its SQLite log (central-log.ts),
  //    each once (the decision id is the key). Columns are the row's (decision-log/row.ts; time in ms since
  //    the epoch, latency in µs), then the local log the decision came from and its seq there, which order
  //    decisions of the same millisecond as their log does.
  `CREATE TABLE decision_log (
     id text PRIMARY KEY,
     time bigint NOT NULL,
     principal_type text NOT NULL,
     principal_id text NOT NULL,
     action text NOT NULL,
     resource_type text NOT NULL,
     resource_id text NOT NULL,
     outcome text NOT NULL,
     matched text NOT NULL,
     policy_revision text NOT NULL,
     latency_us double precision NOT NULL,
     errors jsonb,
     request jsonb,
     log_id text NOT NULL,
     seq bigint NOT NULL
   );
   CREATE INDEX decision_log_time ON decision_log (time, log_id, seq);
   CREATE INDEX decision_log_principal ON decision_log (principal_id, time);
   CREATE INDEX decision_log_resource ON decision_log (resource_id, time);`,
  // 3: the sidecars using this store (sidecar-registry.ts): each upserts its row at start, on every policy
  //    load and every heartbeat, and deletes it when it stops.
  `CREATE TABLE sidecars (
     id text PRIMARY KEY,
     host text NOT NULL,
     address text NOT NULL,
     policy_revision text NOT NULL,
     started_at timestamptz NOT NULL,
     last_seen timestamptz NOT NULL
   );`,
];

/** The advisory lock's key: any constant no other application on the database uses ("fleetgrd"). */
const MIGRATION_LOCK = 0x666c_6565_7467_7264n;

export async function migrate(pool: Pool, migrations: readonly string[] = MIGRATIONS): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS fleetguard_schema (version integer NOT NULL)');
      await client.query('INSERT INTO fleetguard_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM fleetguard_schema)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM fleetguard_schema');
      const version = rows[0]!.version;
      if (version > migrations.length)
        throw new Error(`the store is at schema version ${version}, newer than this Fleetguard (${migrations.length})`);
      for (let v = version; v < migrations.length; v++) {
        await client.query('BEGIN');
        try {
          await client.query(migrations[v]!);
          await client.query('UPDATE fleetguard_schema SET version = $1', [v + 1]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      }
      return migrations.length;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
    }
  } finally {
    client.release();
  }
}
