// The one way the server and the CLI open the stores: the SQLite file of the `db` setting, or the shared
// store of the `store` setting (a postgres:// URL) with the SQLite file kept for the decision log alone.
// The settings' one definition and defaults are in config.ts.
import { existsSync } from 'node:fs';
import { verifyDecisionChains } from '../decision-log/blocks.js';
import { DecisionLog, queryDecisions } from '../decision-log/decision-log.js';
import { openDatabase, type Db } from './database.js';
import { SqliteEntityStore } from './entity-store.js';
import { SqliteKeyStore } from './key-store.js';
import type { PgStores } from './postgres/pg-stores.js';
import type { DecisionLogOptions, DecisionReader, DecisionSink, Stores, StoreStatus } from './stores.js';

export interface StoreOptions {
  /** The SQLite file (`:memory:` for a store that lives as long as the process). */
  db: string;
  /** The shared store's URL (postgres:// or postgresql://): keys and entities there, `db` only for the decision log. */
  store?: string | undefined;
  /** The pack whose entities.yaml owns entities (`packScope(dir)`); '' or absent for none. */
  pack?: string;
  /** False for commands that only read or change what is there: a missing store is `NoStoreError`. */
  create?: boolean;
  clock?: () => number;
  /** Shared store: how long credentials are checked from the cache while the store is unreachable (ms). */
  staleAfterMs?: number;
  /**
   * Shared store: its cache of keys and entities kept current (`kept`: a sidecar), loaded once (`loaded`,
   * the default: a command that looks things up), or not loaded (`none`: a command that only writes or lists).
   */
  cache?: 'kept' | 'loaded' | 'none';
  /** Shared store: told when it goes down or comes back. */
  onStoreState?: (up: boolean, error: string | undefined) => void;
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
      verify: async (expected) => verifyDecisionChains(db, expected),
    };
  }

  /** A writer thread on its own connection to the file; none for `:memory:` (rows are written inline). */
  openDecisionSink(options: DecisionLogOptions): DecisionSink & DecisionLog {
    return new DecisionLog(this.db, this.location, options).start();
  }

  status(): StoreStatus {
    return { kind: 'sqlite', location: this.location, up: true };
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export function openSqliteStores(options: StoreOptions): SqliteStores {
  const { db: file, create = true } = options;
  if (!create && file !== ':memory:' && !existsSync(file)) throw new NoStoreError(file);
  return new SqliteStores(openDatabase(file), file, options.pack ?? '', options.clock ?? Date.now);
}

/** The stores `options` name: PostgreSQL for a `store` URL (its schema migrated first), else the SQLite file. */
export async function openStores(options: StoreOptions): Promise<SqliteStores | PgStores> {
  if (options.store === undefined) return openSqliteStores(options);
  // pg loads only for a shared store.
  const { PgStores } = await import('./postgres/pg-stores.js');
  return PgStores.open({
    url: options.store,
    db: options.db,
    pack: options.pack ?? '',
    clock: options.clock ?? Date.now,
    staleAfterMs: options.staleAfterMs ?? 30_000,
    cache: options.cache ?? 'loaded',
    ...(options.onStoreState ? { onState: options.onStoreState } : {}),
  });
}
