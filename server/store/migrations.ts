// Numbered schema migrations; `PRAGMA user_version` records how many have run. Append, never edit.
// A migration is SQL, or a function for one whose SQL depends on what the file holds.
import { addDecisionChain, DECISION_LOG_DDL } from '../decision-log/blocks.js';
import { SHADOW_BLOCKS_DDL, SHADOW_DDL } from '../shadow/sqlite-shadow-store.js';
import type { Db } from './database.js';

export const MIGRATIONS: readonly (string | ((db: Db) => void))[] = [
  // 1: the decision log: blocks of rows, and the `decisions` view over them (decision-log/row.ts; a change
  //    to its fields needs a migration that recreates the view).
  DECISION_LOG_DDL,
  // 2: the key store. Secrets are stored only as salted SHA-256 digests (the secrets are 256-bit random,
  //    so a slow hash adds nothing but latency); entities hold users and anything else with attributes.
  `CREATE TABLE entities (
     type TEXT NOT NULL,
     id TEXT NOT NULL,
     attributes TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (type, id)
   ) WITHOUT ROWID;
   CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     fleet TEXT NOT NULL,
     organization TEXT NOT NULL,
     metadata TEXT,
     provisioned_by TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX devices_fleet ON devices (fleet);
   CREATE TABLE provisioning_keys (
     id TEXT PRIMARY KEY,
     fleet TEXT NOT NULL,
     organization TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     allowed_cidrs TEXT NOT NULL,
     max_registrations INTEGER,
     registrations INTEGER NOT NULL DEFAULT 0,
     single_use INTEGER NOT NULL DEFAULT 0,
     revoked INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE credentials (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('device', 'provisioning_key', 'user')),
     subject TEXT NOT NULL,
     salt BLOB NOT NULL,
     digest BLOB NOT NULL,
     revoked INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX credentials_subject ON credentials (kind, subject);`,
  // 3: entities with an owner. `scope` is the policy directory (its real path) whose entities.yaml
  //    declares the entity, or '' for the store's own (admin API, CLI imports). A sidecar sees its pack's
  //    entities and the store's, never another pack's (entity-store.ts). The rows so far become the store's.
  `CREATE TABLE entities_scoped (
     type TEXT NOT NULL,
     id TEXT NOT NULL,
     scope TEXT NOT NULL,
     attributes TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (type, id, scope)
   ) WITHOUT ROWID;
   INSERT INTO entities_scoped (type, id, scope, attributes, updated_at)
     SELECT type, id, '', attributes, updated_at FROM entities;
   DROP TABLE entities;
   ALTER TABLE entities_scoped RENAME TO entities;`,
  // 4: how far the decision log has been shipped to a shared store's central log (decision-log/ship-cursor.ts):
  //    one row once a shipper first runs; `log_id` names this file's log there, `shipped_to` is the seq of
  //    the first decision not yet shipped.
  `CREATE TABLE decision_log_ship (
     one INTEGER PRIMARY KEY CHECK (one = 1),
     log_id TEXT NOT NULL,
     shipped_to INTEGER NOT NULL
   );`,
  // 5: shadow evaluation's disagreements (server/shadow/): one row each, the request as JSON.
  SHADOW_DDL,
  // 6: the decision log's hash chain: each block's hash and the one before it, and where the chain starts
  //    (its id, made here, and what retention removed); the blocks so far are chained as they stand.
  addDecisionChain,
  // 7: shadow disagreements written a block at a time (one JSON array a flush), the table of 5 becoming a
  //    view over the blocks (sqlite-shadow-store.ts).
  SHADOW_BLOCKS_DDL,
  // 8: the ship cursor's own random log id goes: the central log names this file's log by its chain's id
  //    (`decision_chain.chain_id`), which the hashes bind its blocks to.
  'ALTER TABLE decision_log_ship DROP COLUMN log_id;',
];
