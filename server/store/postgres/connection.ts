// Connections to the shared store: one pool per process, from a `postgres://` or `postgresql://` URL.
// pg 8 is the client: its Pool does the pooling and reconnecting, its Client carries LISTEN, and it runs
// on Node 20 (postgres 3 would do as well; pg is the one the ecosystem's tools and docs assume).
import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  /** Connections at most; a sidecar needs few: lookups are answered from its cache. */
  max?: number;
  /** How long a new connection may take before the attempt fails (an outage must fail fast, not hang). */
  connectTimeoutMs?: number;
  applicationName?: string;
}

/**
 * bigint (int8) as a JavaScript number: the store's bigints are epoch milliseconds and counts, all far
 * below 2^53 (pg's default is a string, to be safe for any int8).
 */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary'
      ? (text: string) => Number(text)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export function createPool(url: string, options: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    types: PG_TYPES,
    max: options.max ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 2_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'fleetguard',
  });
  // An idle connection that breaks (the server restarts, the network drops) is reported here; the pool
  // replaces it on the next checkout, so it is not an error of the process.
  pool.on('error', () => {});
  return pool;
}
