// The decision sink of a sidecar on a shared store: the SQLite decision log as it is (the fast path, and
// the spool), shipped to the central log by a DecisionShipper. Retention never drops what is unshipped.
import { DecisionLog, type DecisionLogOptions } from '../../decision-log/decision-log.js';
import type { LogBatch } from '../../decision-log/batch.js';
import type { DecisionSink } from '../../decision-log/sink.js';
import type { AuthorizeRequest, Decision } from '../../../engine/index.js';
import type { Db } from '../database.js';
import type { Pool } from './connection.js';
import { DecisionShipper, type ShipperOptions } from './decision-shipper.js';

export class ShippingDecisionSink implements DecisionSink {
  readonly log: DecisionLog;
  readonly shipper: DecisionShipper;

  /** `file`: the SQLite file `db` is open on (`:memory:` writes inline), as DecisionLog takes it. */
  constructor(db: Db, file: string, pool: Pool, options: DecisionLogOptions, ship: Partial<ShipperOptions> = {}) {
    this.shipper = new DecisionShipper(db, pool, { warn: options.warn, ...ship });
    this.log = new DecisionLog(db, file, { ...options, keepFrom: () => this.shipper.shippedTo });
  }

  start(): this {
    this.log.start();
    this.shipper.start();
    return this;
  }

  append(decision: Decision, request: AuthorizeRequest, latencyUs: number): void {
    this.log.append(decision, request, latencyUs);
  }

  appendBatch(batch: LogBatch): void {
    this.log.appendBatch(batch);
  }

  runBeside(sql: string, params: unknown[]): Promise<void> {
    return this.log.runBeside(sql, params);
  }

  get queueDepth(): number {
    return this.log.queueDepth;
  }

  get stats() {
    return this.log.stats;
  }

  /** Decisions written to the local log and not yet in the central one. */
  get shipBacklog(): number {
    return this.shipper.backlog;
  }

  /** Resolves once everything appended so far is in the local log (shipping follows on its own). */
  drain(): Promise<void> {
    return this.log.drain();
  }

  /** Writes the local log's queue, then ships what it can within `shipTimeoutMs`; the rest ships after a restart. */
  async close(shipTimeoutMs = 5_000): Promise<void> {
    await this.log.close();
    await this.shipper.close(shipTimeoutMs);
  }
}
