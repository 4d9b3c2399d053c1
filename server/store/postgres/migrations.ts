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
  // 4: the key store and the entities (server/store/postgres/pg-key-store.ts, pg-entity-store.ts), as in
  //    SQLite: secrets only as salted SHA-256 digests; an entity owned by a pack (`scope`, its directory)
  //    or by the store (''). Ids compare byte by byte (COLLATE "C"), as SQLite's do, so pages and plans
  //    list them in the same order on both stores. Times are epoch milliseconds.
  `CREATE TABLE devices (
     id text COLLATE "C" PRIMARY KEY,
     fleet text NOT NULL,
     organization text NOT NULL,
     metadata jsonb,
     provisioned_by text,
     created_at bigint NOT NULL
   );
   CREATE INDEX devices_fleet ON devices (fleet);
   CREATE TABLE provisioning_keys (
     id text COLLATE "C" PRIMARY KEY,
     fleet text NOT NULL,
     organization text NOT NULL,
     expires_at bigint NOT NULL,
     allowed_cidrs jsonb NOT NULL,
     max_registrations integer,
     registrations integer NOT NULL DEFAULT 0,
     single_use boolean NOT NULL DEFAULT false,
     revoked boolean NOT NULL DEFAULT false,
     created_at bigint NOT NULL
   );
   CREATE TABLE credentials (
     id text COLLATE "C" PRIMARY KEY,
     kind text NOT NULL CHECK (kind IN ('device', 'provisioning_key', 'user')),
     subject text NOT NULL,
     salt bytea NOT NULL,
     digest bytea NOT NULL,
     revoked boolean NOT NULL DEFAULT false,
     created_at bigint NOT NULL
   );
   CREATE INDEX credentials_subject ON credentials (kind, subject);
   CREATE TABLE entities (
     type text NOT NULL,
     id text COLLATE "C" NOT NULL,
     scope text NOT NULL,
     attributes jsonb NOT NULL,
     updated_at bigint NOT NULL,
     PRIMARY KEY (type, id, scope)
   );`,
  // 5: change notifications. Every sidecar mirrors the tables of migration 4 in memory (its decisions
  //    never wait on a round trip) and LISTENs on fleetguard_changes: a trigger announces each changed row
  //    by its key, delivered when the writing transaction commits, whoever wrote it (a sidecar, the CLI,
  //    plain SQL). A key too long for a notification, or a TRUNCATE, asks for a full resync.
  `CREATE FUNCTION fleetguard_announce(payload text) RETURNS void LANGUAGE sql AS $$
     SELECT pg_notify('fleetguard_changes', CASE WHEN octet_length(payload) > 7900 THEN '["resync"]' ELSE payload END)
   $$;
   CREATE FUNCTION fleetguard_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'TRUNCATE' THEN
       PERFORM fleetguard_announce('["resync"]');
     ELSIF TG_TABLE_NAME = 'entities' THEN
       IF TG_OP <> 'INSERT' THEN PERFORM fleetguard_announce(json_build_array('entities', OLD.type, OLD.id, OLD.scope)::text); END IF;
       IF TG_OP <> 'DELETE' THEN PERFORM fleetguard_announce(json_build_array('entities', NEW.type, NEW.id, NEW.scope)::text); END IF;
     ELSE
       IF TG_OP <> 'INSERT' THEN PERFORM fleetguard_announce(json_build_array(TG_TABLE_NAME, OLD.id)::text); END IF;
       IF TG_OP <> 'DELETE' THEN PERFORM fleetguard_announce(json_build_array(TG_TABLE_NAME, NEW.id)::text); END IF;
     END IF;
     RETURN NULL;
   END $$;
   CREATE TRIGGER devices_announce AFTER INSERT OR UPDATE OR DELETE ON devices
     FOR EACH ROW EXECUTE FUNCTION fleetguard_announce_change();
   CREATE TRIGGER provisioning_keys_announce AFTER INSERT OR UPDATE OR DELETE ON provisioning_keys
     FOR EACH ROW EXECUTE FUNCTION fleetguard_announce_change();
   CREATE TRIGGER credentials_announce AFTER INSERT OR UPDATE OR DELETE ON credentials
     FOR EACH ROW EXECUTE FUNCTION fleetguard_announce_change();
   CREATE TRIGGER entities_announce AFTER INSERT OR UPDATE OR DELETE ON entities
     FOR EACH ROW EXECUTE FUNCTION fleetguard_announce_change();
   CREATE TRIGGER devices_truncate AFTER TRUNCATE ON devices FOR EACH STATEMENT EXECUTE FUNCTION fleetguard_announce_change();
   CREATE TRIGGER provisioning_keys_truncate AFTER TRUNCATE ON provisioning_keys
     FOR EACH STATEMENT EXECUTE FUNCTION fleetguard_announce_change();
   CREATE TRIGGER credentials_truncate AFTER TRUNCATE ON credentials FOR EACH STATEMENT EXECUTE FUNCTION fleetguard_announce_change();
   CREATE TRIGGER entities_truncate AFTER TRUNCATE ON entities FOR EACH STATEMENT EXECUTE FUNCTION fleetguard_announce_change();`,
  // 6: the provisioning rate limit's counters, shared by every sidecar: attempts by name (`key:<id>`,
  //    `address:<ip>`) in fixed windows starting at multiples of the window (epoch milliseconds).
  `CREATE TABLE provision_attempts (
     name text NOT NULL,
     window_start bigint NOT NULL,
     attempts integer NOT NULL,
     PRIMARY KEY (name, window_start)
   );`,
  // 7: the central log verifiable (central-chain.ts): each chain's blocks as stored in the sidecar's file,
  //    the columns decision-log/chain.ts hashes, names and data as their exact text (never jsonb, which
  //    rewrites it), keyed by (chain_id, first_seq) as decision_log is by the decision id; and where each
  //    chain's central copy starts (its first shipment's first block: what came before it counts as
  //    dropped). decision_log.log_id is the chain id.
  `CREATE TABLE decision_log_chains (
     chain_id text PRIMARY KEY,
     start_seq bigint NOT NULL,
     start_hash bytea NOT NULL,
     dropped_blocks bigint NOT NULL,
     dropped_decisions bigint NOT NULL
   );
   CREATE TABLE decision_log_blocks (
     chain_id text NOT NULL,
     first_seq bigint NOT NULL,
     rows integer NOT NULL,
     base_time bigint NOT NULL,
     first_time bigint NOT NULL,
     last_time bigint NOT NULL,
     names text NOT NULL,
     data text NOT NULL,
     ids bytea,
     prev_hash bytea,
     hash bytea,
     PRIMARY KEY (chain_id, first_seq)
   );
   CREATE INDEX decision_log_chain_seq ON decision_log (log_id, seq);`,
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
