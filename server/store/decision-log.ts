// The decision log. Requests only push onto an in-memory queue; a timer writes the queue in transactions
// of bounded size, yielding to the event loop between chunks so a large backlog never stalls requests.
// Nothing is lost silently: a full queue either blocks (writes synchronously, the default) or drops and
// counts; shutdown flushes everything. After kill -9, at most one flush interval is missing.
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import type { Db } from './database.js';

export interface DecisionLogOptions {
  flushMs: number;
  queueMax: number;
  overflow: 'block' | 'drop';
  retentionDays: number;
  clock: () => number;
  /** Called for conditions an operator must see (a full queue, a failed write). */
  warn: (message: string, details?: Record<string, unknown>) => void;
}

interface Entry {
  decision: Decision;
  request: AuthorizeRequest;
  time: number;
  latencyUs: number;
}

export interface DecisionLogStats {
  queueDepth: number;
  written: number;
  dropped: number;
  writeErrors: number;
  blockedFlushes: number;
}

const CHUNK = 1000;

export class DecisionLog {
  private queue: Entry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private flushing = false;
  readonly stats: DecisionLogStats = { queueDepth: 0, written: 0, dropped: 0, writeErrors: 0, blockedFlushes: 0 };
  private readonly insert;
  private readonly writeChunk;

  constructor(private readonly db: Db, private readonly options: DecisionLogOptions) {
    this.insert = db.prepare(
      `INSERT INTO decisions (id, time, principal_type, principal_id, action, resource_type, resource_id, outcome, matched,
         policy_revision, latency_us, errors, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.writeChunk = db.transaction((entries: Entry[]) => {
      for (const e of entries) this.insert.run(...row(e));
    });
  }

  start(): this {
    this.timer = setInterval(() => this.flushSoon(), this.options.flushMs);
    this.timer.unref();
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), 3_600_000);
    this.pruneTimer.unref();
    return this;
  }

  append(decision: Decision, request: AuthorizeRequest, latencyUs: number): void {
    if (this.queue.length >= this.options.queueMax) {
      if (this.options.overflow === 'drop') {
        if (this.stats.dropped++ % 10_000 === 0) {
          this.options.warn('decision log queue is full: dropping decisions', { queueMax: this.options.queueMax, dropped: this.stats.dropped });
        }
        return;
      }
      // Back-pressure: this request pays for writing the backlog now rather than losing it.
      this.stats.blockedFlushes++;
      if (this.stats.blockedFlushes % 100 === 1) {
        this.options.warn('decision log queue is full: writing synchronously on the request path', { queueMax: this.options.queueMax });
      }
      this.flushAll();
    }
    this.queue.push({ decision, request, time: this.options.clock(), latencyUs });
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  /** Writes the queue in chunks, yielding between them. */
  private flushSoon(): void {
    if (this.flushing) return;
    this.flushing = true;
    const step = () => {
      const wrote = this.writeSome(CHUNK);
      if (wrote && this.queue.length > 0) setImmediate(step);
      else this.flushing = false;
    };
    step();
  }

  /** Writes up to `max` entries; false when the write failed (they stay queued for the next attempt). */
  private writeSome(max: number): boolean {
    if (this.queue.length === 0) return true;
    const chunk = this.queue.length <= max ? this.queue : this.queue.slice(0, max);
    try {
      this.writeChunk(chunk);
    } catch (e) {
      this.stats.writeErrors++;
      this.options.warn('decision log write failed; will retry', { error: (e as Error).message, queued: this.queue.length });
      return false;
    }
    this.stats.written += chunk.length;
    this.queue = chunk === this.queue ? [] : this.queue.slice(chunk.length);
    return true;
  }

  /** Synchronously writes everything queued (shutdown, back-pressure). */
  flushAll(): void {
    while (this.queue.length > 0) if (!this.writeSome(CHUNK * 10)) break;
  }

  prune(): number {
    if (this.options.retentionDays <= 0) return 0;
    const cutoff = this.options.clock() - this.options.retentionDays * 86_400_000;
    return this.db.prepare('DELETE FROM decisions WHERE time < ?').run(cutoff).changes;
  }

  close(): void {
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    this.flushAll();
  }
}

function row(e: Entry): unknown[] {
  const { decision: d, request: r } = e;
  return [
    d.decisionId,
    e.time,
    r.principal.type,
    r.principal.id,
    r.action,
    r.resource.type,
    r.resource.id,
    d.decision,
    d.matched.map((m) => m.rule).join(','),
    d.policyRevision,
    e.latencyUs,
    d.errors === undefined ? null : JSON.stringify(d.errors),
    JSON.stringify(r),
  ];
}

export interface DecisionQuery {
  principal?: string;
  resource?: string;
  outcome?: 'allow' | 'deny';
  since?: number;
  until?: number;
  limit?: number;
}

export interface LoggedDecision {
  decisionId: string;
  time: string;
  principalType: string;
  principalId: string;
  action: string;
  resourceType: string;
  resourceId: string;
  outcome: 'allow' | 'deny';
  matched: string[];
  policyRevision: string;
  latencyUs: number;
  errors?: unknown;
  request?: unknown;
}

export function queryDecisions(db: Db, q: DecisionQuery): LoggedDecision[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.principal !== undefined) { where.push('principal_id = ?'); params.push(q.principal); }
  if (q.resource !== undefined) { where.push('resource_id = ?'); params.push(q.resource); }
  if (q.outcome !== undefined) { where.push('outcome = ?'); params.push(q.outcome); }
  if (q.since !== undefined) { where.push('time >= ?'); params.push(q.since); }
  if (q.until !== undefined) { where.push('time < ?'); params.push(q.until); }
  const sql = `SELECT * FROM decisions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time, seq LIMIT ?`;
  const rows = db.prepare(sql).all(...params, q.limit ?? 1000) as Record<string, unknown>[];
  return rows.map((r) => {
    const out: LoggedDecision = {
      decisionId: r.id as string,
      time: new Date(r.time as number).toISOString(),
      principalType: r.principal_type as string,
      principalId: r.principal_id as string,
      action: r.action as string,
      resourceType: r.resource_type as string,
      resourceId: r.resource_id as string,
      outcome: r.outcome as 'allow' | 'deny',
      matched: r.matched === '' ? [] : (r.matched as string).split(','),
      policyRevision: r.policy_revision as string,
      latencyUs: r.latency_us as number,
    };
    if (r.errors !== null) out.errors = JSON.parse(r.errors as string);
    if (r.request !== null) out.request = JSON.parse(r.request as string);
    return out;
  });
}
