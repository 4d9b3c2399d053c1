// Numbered schema migrations; `PRAGMA user_version` records how many have run. Append, never edit.
export const MIGRATIONS: readonly string[] = [
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
];
