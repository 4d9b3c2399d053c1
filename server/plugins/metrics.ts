// Prometheus metrics (prom-client). Decisions are counted in plain integers on the hot path (a prom-client
// `inc` hashes its labels: 3% of the batch route's CPU) and handed to prom-client when it is scraped.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { RouteLatency } from './route-latency.js';
import type { DecisionLogStats } from '../decision-log/decision-log.js';
import type { LogBatch } from '../decision-log/batch.js';
import { NUMBERS_PER_ROW, SLOT } from '../decision-log/row.js';
import type { PolicyHolder } from './policy-holder.js';
import type { WatchMode } from './policy-watcher.js';

/** The `principal_type` of decisions whose type the schema does not declare. */
export const UNKNOWN_TYPE = 'unknown';

export class Metrics {
  readonly registry = new Registry();
  readonly provisionAttempts = new Counter({
    name: 'fleetguard_provision_attempts_total',
    help: 'Device registrations attempted, by outcome, as the response says it: created, denied (any 403), conflict, rate_limited.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  /** principal type → [allowed, denied] */
  private readonly decisionCounts = new Map<string, [number, number]>();
  readonly latency = new RouteLatency(this.registry);

  constructor(
    private readonly policies: PolicyHolder,
    log: { stats: DecisionLogStats; queueDepth: number; readonly shipBacklog?: number },
    threads?: { status: { running: number; loaded: number } },
    watcher?: { mode: WatchMode },
    store?: { status(): { up: boolean } },
  ) {
    // Node's defaults under their standard names (process_*, nodejs_*), which dashboards expect.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    const counts = this.decisionCounts;
    new Counter({
      name: 'fleetguard_decisions_total',
      help: 'Decisions made, by outcome and principal type.',
      labelNames: ['outcome', 'principal_type'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [type, [allowed, denied]] of counts) {
          this.inc({ outcome: 'allow', principal_type: type }, allowed);
          this.inc({ outcome: 'deny', principal_type: type }, denied);
        }
      },
    });
    new Gauge({
      name: 'fleetguard_policy_revision_info',
      help: 'The policy revision being served (value 1).',
      labelNames: ['revision'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (policies.engine) this.set({ revision: policies.engine.revision }, 1);
      },
    });
    // Values owned by the policy holder and the decision log, read when Prometheus scrapes.
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counter(
      'fleetguard_policy_reloads_total',
      'Policy sets loaded successfully (including the first).',
      () => policies.reloads,
    );
    counter(
      'fleetguard_policy_reload_failures_total',
      'Reloads rejected because the policies did not compile.',
      () => policies.reloadFailures,
    );
    gauge('fleetguard_policy_last_reload_ok', '1 when the last reload succeeded, 0 when it failed.', () =>
      policies.lastReload?.ok === false ? 0 : 1,
    );
    gauge(
      'fleetguard_policy_watch_polling',
      '1 when the policy directory could not be watched and is polled instead (see /health), else 0.',
      () => (watcher?.mode === 'polling' ? 1 : 0),
    );
    gauge(
      'fleetguard_decision_log_queue_depth',
      'Decisions waiting to be written to the decision log.',
      () => log.queueDepth,
    );
    counter('fleetguard_decision_log_written_total', 'Decisions written to the decision log.', () => log.stats.written);
    counter(
      'fleetguard_decision_log_dropped_total',
      'Decisions not written because the queue was full (overflow=drop).',
      () => log.stats.dropped,
    );
    counter(
      'fleetguard_decision_log_write_errors_total',
      'Failed decision log writes (retried).',
      () => log.stats.writeErrors,
    );
    if (log.shipBacklog !== undefined) {
      gauge(
        'fleetguard_decision_log_ship_backlog',
        'Decisions in the local decision log not yet shipped to the central log (a shared store only).',
        () => log.shipBacklog ?? 0,
      );
    }
    if (threads) {
      gauge(
        'fleetguard_decision_threads_running',
        'Decision threads running (a thread that stops is replaced after a delay; meanwhile its batches go to the request thread).',
        () => threads.status.running,
      );
      gauge(
        'fleetguard_decision_threads_loaded',
        'Decision threads holding the policy set being served.',
        () => threads.status.loaded,
      );
    }
    if (store)
      gauge(
        'fleetguard_store_up',
        '1 while the store is reachable (a shared store: its cache kept current), 0 while it is not (see /health).',
        () => (store.status().up ? 1 : 0),
      );
    counter(
      'fleetguard_decision_log_blocked_total',
      'Requests that wrote the decision log synchronously because the queue was full.',
      () => log.stats.blockedFlushes,
    );
  }

  /**
   * Counts a decision under its principal type when the schema served declares it, else under `unknown`:
   * AuthZEN subjects name any type they like, and each label value is a series Prometheus keeps.
   */
  countDecision(principalType: string, allowed: boolean, times = 1): void {
    const label = this.policies.engine?.policySet.schema.principals.has(principalType) ? principalType : UNKNOWN_TYPE;
    let c = this.decisionCounts.get(label);
    if (c === undefined) this.decisionCounts.set(label, (c = [0, 0]));
    c[allowed ? 0 : 1] += times;
  }

  /** The decisions of a batch, read from its decision log rows: tallied by name first, then counted. */
  countBatch(batch: LogBatch): void {
    const n = batch.numbers;
    const allowed = new Array<number>(batch.names.length).fill(0);
    const denied = new Array<number>(batch.names.length).fill(0);
    for (let at = 0; at < batch.rows * NUMBERS_PER_ROW; at += NUMBERS_PER_ROW) {
      if (n[at + SLOT.outcome] === 1) allowed[n[at + SLOT.principal_type]!]!++;
      else denied[n[at + SLOT.principal_type]!]!++;
    }
    for (let name = 0; name < batch.names.length; name++) {
      if (allowed[name]! > 0) this.countDecision(batch.names[name]!, true, allowed[name]);
      if (denied[name]! > 0) this.countDecision(batch.names[name]!, false, denied[name]);
    }
  }
}
