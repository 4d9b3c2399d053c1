// Numbered schema migrations; `PRAGMA user_version` records how many have run. Append, never edit.
// A migration is SQL, or a function for one whose SQL depends on what the file holds.
import type { Db } from './database.js';
import { BLOCKS_DDL, rebuildDecisionsView } from './decision-blocks.js';
import { sealPartitions } from './decision-partitions.js';

export const MIGRATIONS: readonly (string | ((db: Db) => void))[] = [
  // 1: the decision log. Rows arrive in time order, so `seq` orders them; only principal and resource
  //    are indexed (each random-key index costs ~0.6 µs a row, and the writer must keep up with batches).
  `CREATE TABLE decisions (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL,
     time INTEGER NOT NULL,
     principal_type TEXT NOT NULL,
     principal_id TEXT NOT NULL,
     action TEXT NOT NULL,
     resource_type TEXT NOT NULL,
     resource_id TEXT NOT NULL,
     outcome TEXT NOT NULL CHECK (outcome IN ('allow', 'deny')),
     matched TEXT NOT NULL,
     policy_revision TEXT NOT NULL,
     latency_us REAL NOT NULL,
     errors TEXT,
     request TEXT
   );
   CREATE INDEX decisions_principal ON decisions (principal_id);
   CREATE INDEX decisions_resource ON decisions (resource_id);`,
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
  // 3: the decision log in partitions. Index inserts on random ids slow down as an index outgrows the
  //    page cache (one table: 5.6 µs a row at 300,000 rows, 22 µs at 1,200,000); partitions of bounded
  //    size stay flat (about 5 µs). `decisions` becomes a view over the partitions, so readers are
  //    unchanged, and retention drops whole partitions.
  //    A partition gets its secondary indexes when it is sealed (decision-partitions.ts), under its own
  //    names; the first partition's are rebuilt then.
  `ALTER TABLE decisions RENAME TO decisions_0;
   DROP INDEX decisions_principal;
   DROP INDEX decisions_resource;
   CREATE TABLE decision_partitions (
     number INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     rows INTEGER NOT NULL DEFAULT 0,
     first_time INTEGER,
     last_time INTEGER
   );
   INSERT INTO decision_partitions (number, name, rows, first_time, last_time)
     SELECT 0, 'decisions_0', count(*), min(time), max(time) FROM decisions_0;
   CREATE VIEW decisions AS SELECT * FROM decisions_0;`,
  // 4: the decision log with coded names. A new partition stores types, actions, matched rules and
  //    revisions as ids into `decision_names` and the outcome as 0/1 (format 2): 0.9 instead of 1.9 µs
  //    a row to insert. Existing partitions keep their text rows (format 1); the view decodes either,
  //    so readers see the same columns (decision-partitions.ts).
  `ALTER TABLE decision_partitions ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
   CREATE TABLE decision_names (
     id INTEGER PRIMARY KEY,
     text TEXT NOT NULL UNIQUE
   );`,
  // 5: the decision log in blocks (decision-blocks.ts): a block of rows is one JSON text, written in one
  //    insert (0.32 µs a row against 1.6 µs for coded rows and their indexes). The partitions are
  //    sealed as they are and stay readable; the `decisions` view shows them, then the blocks' rows.
  (db) => {
    db.exec(BLOCKS_DDL);
    sealPartitions(db);
    rebuildDecisionsView(db);
  },
  // 6: entities with an owner. `scope` is the policy directory (its real path) whose entities.yaml
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
];
