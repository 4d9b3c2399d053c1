// Ships the sidecar's SQLite decision log to the central log in PostgreSQL, behind the request path: the
// SQLite log stays the fast path and is the spool. Every interval, the blocks after the ship cursor go to
// PostgreSQL in one statement (central-log.ts); only once it has committed does the cursor advance
// (ship-cursor.ts), so a crash in between ships them again, and the central log, keyed by decision id,
// keeps one copy. While PostgreSQL is unreachable nothing advances and the backlog grows in the local
// file (retention keeps unshipped blocks: DecisionLogOptions.keepFrom); when it is back, the backlog
// ships, a batch at a time without waiting between batches.
import { anchorAt, nextSeq, readAnchor, readBlocksFrom } from '../../decision-log/blocks.js';
import { advanceShipCursor, readShipCursor, type ShipCursor } from '../../decision-log/ship-cursor.js';
import type { Db } from '../database.js';
import { insertBlocks } from './central-log.js';
import type { Pool } from './connection.js';

export interface ShipperOptions {
  /** Pause between shipments when the last one emptied the backlog. */
  intervalMs: number;
  /** About the most decisions in one shipment (whole blocks: at least one block). */
  batchRows: number;
  /** Pause after a failed shipment, doubled on each failure up to `retryMaxMs`. */
  retryMs: number;
  retryMaxMs: number;
  warn: (message: string, details?: Record<string, unknown>) => void;
}

export const SHIPPER_DEFAULTS: Omit<ShipperOptions, 'warn'> = {
  intervalMs: 250,
  batchRows: 20_000,
  retryMs: 250,
  retryMaxMs: 5_000,
};

export interface ShipperStats {
  /** Decisions shipped (counted by what the central log took in: one already there is not counted). */
  shipped: number;
  /** Shipments that failed (retried). */
  failures: number;
  /** Whether the last shipment reached PostgreSQL. */
  up: boolean;
}

export class DecisionShipper {
  private readonly cursor: ShipCursor;
  /** The log's chain id: its name in the central log. */
  readonly logId: string;
  private readonly options: ShipperOptions;
  readonly stats: ShipperStats = { shipped: 0, failures: 0, up: true };
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly pool: Pool,
    options: Partial<ShipperOptions> & Pick<ShipperOptions, 'warn'>,
  ) {
    this.options = { ...SHIPPER_DEFAULTS, ...options };
    this.cursor = readShipCursor(db);
    this.logId = readAnchor(db).chainId;
  }

  /** The seq of the first decision not yet shipped: retention keeps it and everything after. */
  get shippedTo(): number {
    return this.cursor.shippedTo;
  }

  /** Decisions in the local log not yet shipped. */
  get backlog(): number {
    return nextSeq(this.db) - this.cursor.shippedTo;
  }

  start(): this {
    this.running ??= this.loop();
    return this;
  }

  /**
   * Ships the next batch of blocks after the cursor; returns the decisions they hold (0: nothing to ship).
   * Throws when PostgreSQL does not take them; the cursor stays.
   */
  async shipOnce(): Promise<number> {
    const blocks = readBlocksFrom(this.db, this.cursor.shippedTo, this.options.batchRows);
    if (blocks.length === 0) return 0;
    const last = blocks[blocks.length - 1]!;
    const end = last.firstSeq + last.rows;
    this.stats.shipped += await insertBlocks(this.pool, anchorAt(this.db, blocks[0]!), blocks);
    if (!this.db.open) return 0; // closed while shipping (close's deadline passed): ships again next start
    advanceShipCursor(this.db, end);
    const rows = end - this.cursor.shippedTo;
    this.cursor.shippedTo = end;
    return rows;
  }

  private async loop(): Promise<void> {
    let retry = this.options.retryMs;
    while (!this.stopped) {
      let pause = this.options.intervalMs;
      try {
        const rows = await this.shipOnce();
        if (!this.stats.up) this.options.warn('decision log shipping resumed', { backlog: this.backlog });
        this.stats.up = true;
        retry = this.options.retryMs;
        if (rows >= this.options.batchRows) pause = 0; // a backlog: the next batch at once
      } catch (e) {
        this.stats.failures++;
        if (this.stats.up)
          this.options.warn('decision log shipping failed; the local log keeps the decisions until it succeeds', {
            error: (e as Error).message,
          });
        this.stats.up = false;
        pause = retry;
        retry = Math.min(retry * 2, this.options.retryMaxMs);
      }
      if (pause > 0 && !this.stopped) await this.sleep(pause);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }

  /**
   * Stops the loop, then ships what is left for at most `timeoutMs` (whatever it cannot ship in time stays
   * in the local log and ships after the next start). Returns the backlog left.
   */
  async close(timeoutMs = 5_000): Promise<number> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.running;
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    try {
      while (Date.now() < deadline) {
        const rows = await Promise.race([this.shipOnce(), late]);
        if (rows === 'late' || rows === 0) break;
      }
    } catch (e) {
      this.options.warn('decision log shipping stopped with a backlog; it ships after the next start', {
        error: (e as Error).message,
        backlog: this.backlog,
      });
    } finally {
      clearTimeout(timer);
    }
    return this.backlog;
  }
}
