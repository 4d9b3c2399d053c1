// What the server needs of a decision log: rows in, nothing lost silently, everything written on close.
// DecisionLog (decision-log.ts) is the SQLite implementation; a sink for a shared store keeps it as its
// spool and ships from it.
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import type { LogBatch } from './batch.js';
import type { DecisionLogStats } from './decision-log.js';

export interface DecisionSink {
  /** Queues one decision; never throws, never waits on I/O. */
  append(decision: Decision, request: AuthorizeRequest, latencyUs: number): void;
  /** Queues a batch of rows made elsewhere (the batch route, a decision thread). */
  appendBatch(batch: LogBatch): void;
  /** Decisions queued and not yet written. */
  readonly queueDepth: number;
  readonly stats: DecisionLogStats;
  /**
   * Runs one write statement on the log's connection, after the rows queued before it, off the request
   * thread where there is a writer thread: for what is kept in the same file beside the log (shadow
   * disagreements). Rejects when the statement fails; the caller decides whether to retry.
   */
  runBeside(sql: string, params: unknown[]): Promise<void>;
  /** Resolves once everything appended so far is written. */
  drain(): Promise<void>;
  /** Writes everything still queued and stops. */
  close(): Promise<void>;
}
