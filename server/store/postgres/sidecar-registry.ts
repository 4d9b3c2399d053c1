// The sidecars using a shared store, in its `sidecars` table (migration 3): each upserts its row when it
// starts, when it loads a policy revision and on every heartbeat, and deletes it when it stops; one that
// misses heartbeats for `staleAfterMs` is listed as stale, and rows a day old go. Times are PostgreSQL's
// clock, so sidecars' clocks need not agree.
import type { SidecarInfo, SidecarList, SidecarSelf } from '../../sidecar-list.js';
import type { Pool } from './connection.js';

export interface RegistryOptions {
  heartbeatMs: number;
  staleAfterMs: number;
  warn: (message: string, details?: Record<string, unknown>) => void;
}

export const REGISTRY_DEFAULTS = { heartbeatMs: 5_000, staleAfterMs: 30_000 };

/** The listing alone (`fleetguard sidecars`): no row of its own. */
export class PgSidecarList implements SidecarList {
  constructor(
    protected readonly pool: Pool,
    protected readonly staleAfterMs = REGISTRY_DEFAULTS.staleAfterMs,
  ) {}

  async list(): Promise<SidecarInfo[]> {
    const { rows } = await this.pool.query(
      `SELECT id, host, address, policy_revision, started_at, last_seen,
              now() - last_seen > make_interval(secs => $1) AS stale
       FROM sidecars ORDER BY id`,
      [this.staleAfterMs / 1000],
    );
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      address: r.address,
      policyRevision: r.policy_revision,
      startedAt: (r.started_at as Date).toISOString(),
      lastSeen: (r.last_seen as Date).toISOString(),
      stale: r.stale,
    }));
  }
}

/** A sidecar's own registration, kept current, and the listing. */
export class PgSidecarRegistry extends PgSidecarList {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private readonly options: RegistryOptions;

  constructor(
    pool: Pool,
    private readonly self: SidecarSelf,
    private readonly revision: () => string,
    options: Partial<RegistryOptions> & Pick<RegistryOptions, 'warn'>,
  ) {
    const full = { ...REGISTRY_DEFAULTS, ...options };
    super(pool, full.staleAfterMs);
    this.options = full;
  }

  /** Registers now and on every heartbeat; a failure is warned once and retried on the next beat. */
  start(): this {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
    return this;
  }

  /** Upserts this sidecar's row (its revision as served now); resolves false when the store did not take it. */
  async beat(): Promise<boolean> {
    try {
      await this.pool.query(
        `INSERT INTO sidecars (id, host, address, policy_revision, started_at, last_seen)
         VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0), now())
         ON CONFLICT (id) DO UPDATE SET policy_revision = EXCLUDED.policy_revision, last_seen = now(),
           address = EXCLUDED.address`,
        [this.self.id, this.self.host, this.self.address, this.revision(), this.self.startedAt],
      );
      await this.pool.query("DELETE FROM sidecars WHERE last_seen < now() - interval '1 day'");
      if (this.failing) this.options.warn('sidecar registry reachable again', { id: this.self.id });
      this.failing = false;
      return true;
    } catch (e) {
      if (!this.failing)
        this.options.warn('sidecar registry heartbeat failed; retrying', {
          id: this.self.id,
          error: (e as Error).message,
        });
      this.failing = true;
      return false;
    }
  }

  /** Stops the heartbeat and removes this sidecar's row (a sidecar that cannot is listed as stale, then goes). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.pool.query('DELETE FROM sidecars WHERE id = $1', [this.self.id]).catch(() => {});
  }
}
