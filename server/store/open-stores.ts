// The one way the server and the CLI open the stores: from the `db` setting (its one definition and
// default are in config.ts), for a pack or none. SQLite is the only implementation so far; a shared store
// is chosen here too when it comes (a URL instead of a file).
import { existsSync } from 'node:fs';
import { verifyDecisionChain } from '../decision-log/blocks.js';
import { DecisionLog, queryDecisions } from '../decision-log/decision-log.js';
import { openDatabase, type Db } from './database.js';
import { SqliteEntityStore } from './entity-store.js';
import { SqliteKeyStore } from './key-store.js';
import type { DecisionLogOptions, DecisionReader, DecisionSink, Stores } from './stores.js';

export interface StoreOptions {
  /** The SQLite file (`:memory:` for a store that lives as long as the process). */
  db: string;
  /** The pack whose entities.yaml owns entities (`packScope(dir)`); '' or absent for none. */
  pack?: string;
  /** False for commands that only read or change what is there: a missing store is `NoStoreError`. */
  create?: boolean;
  clock?: () => number;
}

/** The store a command was pointed at does not exist (a mistyped path must not make a new, empty one). */
export class NoStoreError extends Error {
  constructor(readonly location: string) {
    super(`no database at ${location}`);
  }
}

/** SQLite stores: every store on one connection to the file; the decision log writes on its own. */
export class SqliteStores implements Stores {
  readonly keys: SqliteKeyStore;
  readonly entities: SqliteEntityStore;
  readonly decisions: DecisionReader;

  constructor(
    readonly db: Db,
    readonly location: string,
    pack: string,
    clock: () => number,
  ) {
    this.entities = new SqliteEntityStore(db, clock, pack);
    this.keys = new SqliteKeyStore(db, clock, this.entities);
    this.decisions = {
      query: async (q) => queryDecisions(db, q),
      verify: async (expectHead) => verifyDecisionChain(db, expectHead),
    };
  }

  /** A writer thread on its own connection to the file; none for `:memory:` (rows are written inline). */
  openDecisionSink(options: DecisionLogOptions): DecisionSink & DecisionLog {
    return new DecisionLog(this.db, this.location, options).start();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export function openStores(options: StoreOptions): SqliteStores {
  const { db: file, create = true } = options;
  if (!create && file !== ':memory:' && !existsSync(file)) throw new NoStoreError(file);
  return new SqliteStores(openDatabase(file), file, options.pack ?? '', options.clock ?? Date.now);
}
