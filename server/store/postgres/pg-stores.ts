// The stores on PostgreSQL (`--store postgres://…`): keys and entities shared by every sidecar on the
// database, mirrored in each (mirror.ts); the decision log stays the sidecar's SQLite file (`--db`), the
// spool a shipper sends to the central log (shipping-sink.ts), which `decisions` reads (central-log.ts).
import { openDatabase, type Db } from '../database.js';
import {
  StoreUnavailableError,
  type DecisionLogOptions,
  type DecisionReader,
  type DecisionSink,
  type Stores,
  type StoreStatus,
} from '../stores.js';
import { PgDecisionReader } from './central-log.js';
import { ShippingDecisionSink } from './shipping-sink.js';
import { createPool, type Pool } from './connection.js';
import { redactUrl } from '../store-url.js';
import { migrate } from './migrations.js';
import { messageOf, StoreMirror } from './mirror.js';
import { PgEntityStore } from './pg-entity-store.js';
import { PgKeyStore } from './pg-key-store.js';
import { reaching } from './unavailable.js';

export interface PgStoreOptions {
  url: string;
  /** The sidecar's SQLite file for its decision log (opened when the sink is). */
  db: string;
  pack: string;
  clock: () => number;
  /** Credentials are checked from the mirror this long after it was last known current. */
  staleAfterMs: number;
  /** A sidecar keeps its mirror current (`kept`); a command loads it once or not at all. */
  cache: 'kept' | 'loaded' | 'none';
  onState?: (up: boolean, error: string | undefined) => void;
}

export class PgStores implements Stores {
  readonly location: string;
  readonly keys: PgKeyStore;
  readonly entities: PgEntityStore;
  readonly decisions: DecisionReader;
  private localDb: Db | undefined;

  private constructor(
    readonly pool: Pool,
    private readonly mirror: StoreMirror,
    private readonly options: PgStoreOptions,
  ) {
    this.location = redactUrl(options.url);
    this.keys = new PgKeyStore(pool, mirror, options.clock, options.staleAfterMs);
    this.entities = new PgEntityStore(pool, mirror, options.clock, options.pack);
    const central = new PgDecisionReader(pool);
    this.decisions = {
      query: (q) => reaching(() => central.query(q)),
      verify: (expected) => reaching(() => central.verify(expected)),
    };
  }

  /** Migrates the schema (under the advisory lock) and loads the mirror; rejects when the store is unreachable. */
  static async open(options: PgStoreOptions): Promise<PgStores> {
    const pool = createPool(options.url, { applicationName: 'fleetguard' });
    const mirror = new StoreMirror(pool, options.url, {
      pack: options.pack,
      clock: options.clock,
      cache: options.cache,
      onState: options.onState,
    });
    try {
      await reaching(() => migrate(pool));
      await reaching(() => mirror.start());
    } catch (e) {
      await mirror.close();
      await pool.end().catch(() => {});
      // Which store, without its password: the operator may run several.
      if (e instanceof StoreUnavailableError)
        throw new StoreUnavailableError(`${redactUrl(options.url)}: ${e.message}`, { cause: e });
      throw e;
    }
    return new PgStores(pool, mirror, options);
  }

  /** The sidecar's SQLite file (its decision log), opened on first use. */
  get db(): Db {
    this.localDb ??= openDatabase(this.options.db);
    return this.localDb;
  }

  openDecisionSink(options: DecisionLogOptions): DecisionSink & { readonly shipBacklog: number } {
    return new ShippingDecisionSink(this.db, this.options.db, this.pool, options).start();
  }

  status(): StoreStatus {
    const m = this.mirror;
    const status: StoreStatus = {
      kind: 'postgres',
      location: this.location,
      up: m.up,
      since: new Date(m.since).toISOString(),
    };
    if (!m.up) {
      const until = m.current + this.options.staleAfterMs;
      if (Number.isFinite(until)) status.credentialsCheckedUntil = new Date(until).toISOString();
      if (m.error !== undefined) status.error = m.error;
    }
    return status;
  }

  async close(): Promise<void> {
    await this.mirror.close();
    await this.pool.end().catch((e: unknown) => messageOf(e));
    this.localDb?.close();
  }
}
