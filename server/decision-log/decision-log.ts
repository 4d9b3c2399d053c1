// The decision log. A request only appends a coded row to an in-memory batch (batch.ts); every flush
// interval the batch goes to a writer thread that appends it as blocks (blocks.ts) in one
// transaction on its own SQLite connection, so SQLite never runs on the request thread. Nothing is lost
// silently: a full queue either writes synchronously on the request thread (back-pressure, the default)
// or drops and counts; shutdown drains everything; after kill -9 at most one flush interval (plus one
// write) is missing.
import { Worker } from 'node:worker_threads';
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import type { Db } from '../store/database.js';
import { workerUrl } from '../worker-url.js';
import { LogBatchBuilder, rowsIn, transferList, type LogBatch } from './batch.js';
import { BlockWriter, chainHead, decisionsSql, dropDecisionsBefore } from './blocks.js';
import { hex } from './chain.js';
import { readRow, type LoggedDecision } from './row.js';
import type { DecisionSink } from './sink.js';
import type { Beside } from './writer-thread.js';
import { decisionConditions, DEFAULT_LIMIT, type DecisionQuery } from './decision-query.js';

export type { LoggedDecision } from './row.js';
export type { DecisionSink } from './sink.js';
export type { DecisionQuery } from './decision-query.js';

export interface DecisionLogOptions {
  flushMs: number;
  queueMax: number;
  overflow: 'block' | 'drop';
  retentionDays: number;
  /** Also store each request as JSON (needed to replay decisions; it adds to every decision's logging cost). */
  logRequests: boolean;
  /** Most rows in one block of the log. */
  blockRows: number;
  clock: () => number;
  /**
   * The seq of the first decision a shipper has not yet shipped (ship-cursor.ts): retention keeps it and
   * everything after. Absent when nothing ships the log.
   */
  keepFrom?: () => number;
  /** Called for conditions an operator must see (a full queue, a failed write). */
  warn: (message: string, details?: Record<string, unknown>) => void;
  /**
   * Told the chain's head (chain.ts) at start, every HEAD_EXPORT_MS while it moves, and on close: the
   * sidecar writes it to its own log, a copy outside the database that `fleetguard audit --verify
   * --expect-head` checks the chain against.
   */
  exportHead?: (head: ChainHead) => void;
}

export interface ChainHead {
  chainId: string;
  /** The seq the next block starts at. */
  nextSeq: number;
  /** The last block's hash, hex. */
  hash: string;
}

/**
 * How often the head is exported while decisions are written: a rewrite of the log is detected from
 * the last exported head back, so this bounds the decisions an attacker can rewrite unseen to those of
 * the last interval.
 */
const HEAD_EXPORT_MS = 600_000;

export interface DecisionLogStats {
  written: number;
  dropped: number;
  writeErrors: number;
  blockedFlushes: number;
}

export class DecisionLog implements DecisionSink {
  private pending = new LogBatchBuilder();
  /** Batches not yet handed over or written: made by the batch route, or taken from `pending` by a failed inline write. */
  private ready: LogBatch[] = [];
  /** Rows in `ready`, kept as a count: the queue's depth is read on every append. */
  private readyRows = 0;
  /** Rows handed to the writer and not yet acknowledged. */
  private inflight = 0;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private lastHead: string | undefined;
  private worker: Worker | undefined;
  private idle: (() => void)[] = [];
  /** Statements sent to the writer thread (runBeside) and not yet answered, by id. */
  private beside = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private besideIds = 0;
  private closed: Promise<void> | undefined;
  readonly stats: DecisionLogStats = { written: 0, dropped: 0, writeErrors: 0, blockedFlushes: 0 };
  private readonly inline: BlockWriter;

  /** `file` is the database path for the writer thread; without one (`:memory:`) rows are written inline. */
  constructor(
    private readonly db: Db,
    file: string | undefined,
    private readonly options: DecisionLogOptions,
  ) {
    this.inline = new BlockWriter(db, options.blockRows);
    if (file !== undefined && file !== ':memory:') {
      this.worker = new Worker(workerUrl(new URL('./writer-thread.js', import.meta.url)), {
        workerData: { file, blockRows: options.blockRows },
      });
      this.worker.unref();
      this.worker.on(
        'message',
        (m: { written?: number; error?: string; queued?: number; besideDone?: number; besideError?: string }) => {
          if (m.besideDone !== undefined) {
            const waiting = this.beside.get(m.besideDone);
            this.beside.delete(m.besideDone);
            if (m.besideError === undefined) waiting?.resolve();
            else waiting?.reject(new Error(m.besideError));
          }
          if (m.written !== undefined) {
            this.inflight -= m.written;
            this.stats.written += m.written;
            if (this.inflight === 0) this.idle.splice(0).forEach((resolve) => resolve());
          }
          if (m.error !== undefined) {
            this.stats.writeErrors++;
            this.options.warn('decision log write failed; retrying', { error: m.error, queued: m.queued });
          }
        },
      );
      this.worker.on('error', (e) => this.writerLost(e.message));
      this.worker.on('exit', (code) => {
        if (!this.closed) this.writerLost(`the writer thread exited with code ${code}`);
      });
    }
  }

  /**
   * The writer thread is gone: what it held is counted as dropped (never silently), and from now on the
   * queue is written on this thread.
   */
  private writerLost(why: string): void {
    if (!this.worker) return;
    this.worker = undefined;
    this.stats.dropped += this.inflight;
    this.options.warn('decision log writer stopped; writing on the request thread from now on', {
      why,
      dropped: this.inflight,
    });
    this.inflight = 0;
    this.idle.splice(0).forEach((resolve) => resolve());
    for (const { reject } of this.beside.values()) reject(new Error(`the decision log writer stopped: ${why}`));
    this.beside.clear();
  }

  start(): this {
    this.timer = setInterval(() => this.flush(), this.options.flushMs);
    this.timer.unref();
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), 3_600_000);
    this.pruneTimer.unref();
    if (this.options.exportHead) {
      this.exportHead();
      this.headTimer = setInterval(() => this.exportHead(), HEAD_EXPORT_MS);
      this.headTimer.unref();
    }
    return this;
  }

  /** Tells `exportHead` the chain's head when it moved since last told. */
  private exportHead(): void {
    if (!this.options.exportHead) return;
    let head: ChainHead;
    try {
      const h = chainHead(this.db);
      head = { chainId: h.chainId, nextSeq: h.nextSeq, hash: hex(h.hash) };
    } catch (e) {
      this.options.warn('decision log head could not be read', { error: (e as Error).message });
      return;
    }
    if (head.hash === this.lastHead) return;
    this.lastHead = head.hash;
    this.options.exportHead(head);
  }

  append(decision: Decision, request: AuthorizeRequest, latencyUs: number): void {
    if (this.admit()) this.pending.push(decision, request, this.options.clock(), latencyUs, this.options.logRequests);
  }

  /** A batch of rows made elsewhere (the batch route, a decision thread), queued as it is. */
  appendBatch(batch: LogBatch): void {
    if (this.admit(batch.rows)) this.queue(batch);
  }

  /**
   * Whether `rows` more may be queued: with the queue full, either this request pays for writing the
   * backlog now (back-pressure) rather than losing it, or the rows are dropped and counted.
   */
  private admit(rows = 1): boolean {
    if (this.queueDepth < this.options.queueMax) return true;
    if (this.options.overflow === 'drop') {
      const before = this.stats.dropped;
      this.stats.dropped += rows;
      if (before === 0 || Math.floor(before / 10_000) < Math.floor(this.stats.dropped / 10_000)) {
        this.options.warn('decision log queue is full: dropping decisions', {
          queueMax: this.options.queueMax,
          dropped: this.stats.dropped,
        });
      }
      return false;
    }
    if (this.stats.blockedFlushes++ % 100 === 0) {
      this.options.warn('decision log queue is full: writing synchronously on the request path', {
        queueMax: this.options.queueMax,
      });
    }
    this.flushAll();
    return true;
  }

  get queueDepth(): number {
    return this.pending.rows + this.readyRows + this.inflight;
  }

  private queue(batch: LogBatch): void {
    this.ready.push(batch);
    this.readyRows += batch.rows;
  }

  private takeReady(): LogBatch[] {
    if (this.pending.rows > 0) this.queue(this.pending.take());
    const batches = this.ready;
    this.ready = [];
    this.readyRows = 0;
    return batches;
  }

  /** Hands the queue to the writer thread (or writes it inline when there is none). */
  private flush(): void {
    if (!this.worker) {
      this.flushAll();
      return;
    }
    const batches = this.takeReady();
    if (batches.length === 0) return;
    for (const b of batches) this.inflight += b.rows;
    this.worker.postMessage({ batches }, batches.flatMap(transferList));
  }

  /** Writes the queue synchronously on this thread (back-pressure, and the writer-less mode). */
  flushAll(): void {
    const batches = this.takeReady();
    if (batches.length === 0) return;
    const rows = rowsIn(batches);
    try {
      this.inline.append(batches);
    } catch (e) {
      this.stats.writeErrors++;
      this.options.warn('decision log write failed; will retry', { error: (e as Error).message, queued: rows });
      batches.forEach((b) => this.queue(b));
      return;
    }
    this.stats.written += rows;
  }

  runBeside(sql: string, params: unknown[]): Promise<void> {
    const worker = this.worker;
    if (!worker || this.closed) {
      try {
        this.db.prepare(sql).run(...params);
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e);
      }
    }
    this.flush(); // the rows queued before it go first
    const id = ++this.besideIds;
    return new Promise<void>((resolve, reject) => {
      this.beside.set(id, { resolve, reject });
      worker.postMessage({ beside: { id, sql, params } satisfies Beside });
    });
  }

  /** Resolves once everything appended so far is in the database. */
  async drain(): Promise<void> {
    this.flush();
    if (this.inflight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Drops the blocks older than the retention; returns the number of decisions dropped. */
  prune(): number {
    if (this.options.retentionDays <= 0) return 0;
    const now = this.options.clock();
    return dropDecisionsBefore(this.db, now - this.options.retentionDays * 86_400_000, now, this.options.keepFrom?.());
  }

  close(): Promise<void> {
    return (this.closed ??= (async () => {
      clearInterval(this.timer);
      clearInterval(this.pruneTimer);
      clearInterval(this.headTimer);
      const worker = this.worker;
      if (!worker) {
        this.flushAll();
        this.exportHead();
        return;
      }
      this.flush();
      await new Promise<void>((resolve) => {
        worker.on('message', (m: { closed?: boolean; unwritten?: number }) => {
          if (!m.closed) return;
          if (m.unwritten)
            this.options.warn('decision log closed with unwritten decisions', { unwritten: m.unwritten });
          resolve();
        });
        worker.once('exit', () => resolve()); // a writer that died while closing must not hang shutdown
        worker.postMessage({ close: true });
      });
      await worker.terminate();
      this.flushAll(); // anything appended while closing
      this.exportHead();
    })());
  }
}

export function queryDecisions(db: Db, q: DecisionQuery): LoggedDecision[] {
  const from = decisionsSql(db, q);
  const { where, params } = decisionConditions(q, () => '?');
  const sql = `SELECT * FROM (${from.sql}) ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time, seq LIMIT ?`;
  const rows = db.prepare(sql).all(...from.params, ...params, q.limit ?? DEFAULT_LIMIT) as Record<string, unknown>[];
  return rows.map(readRow);
}
