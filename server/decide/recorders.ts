// The seam every decision made over HTTP passes through once it is made: the decision service
// (decision-service.ts) hands each one to every recorder, and nothing else writes the decision log or
// counts decisions. A recorder sees the request as decided (a principal given by key already resolved,
// or logged as `credential` with the key id when it was not), the decision (its id is `decisionId`) and
// the latency, measured the same way on every route (decision-service.ts says how).
//
// A batch arrives as the decision log's rows (decision-log/batch.ts): a decision thread hands back rows,
// not request objects, so that the request thread only moves bytes. The rows carry every logged field;
// a recorder that needs whole requests of a batch reads them where the batch is decided (decide-batch.ts,
// on whichever thread decides it).
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import type { LogBatch } from '../decision-log/batch.js';
import type { DecisionSink } from '../decision-log/sink.js';
import type { Metrics } from '../plugins/metrics.js';

export interface DecisionRecorder {
  /** One decision; must not throw or wait (it runs on the request path). */
  decided(request: AuthorizeRequest, decision: Decision, latencyUs: number): void;
  /** A batch's decisions, as log rows (on a decision thread or on this one, the same rows). */
  decidedRows(rows: LogBatch): void;
}

/** The decision log: one row a decision. */
export function logRecorder(log: DecisionSink): DecisionRecorder {
  return {
    decided: (request, decision, latencyUs) => log.append(decision, request, latencyUs),
    decidedRows: (rows) => log.appendBatch(rows),
  };
}

/** `fleetguard_decisions_total{principal_type, outcome}`. */
export function metricsRecorder(metrics: Metrics): DecisionRecorder {
  return {
    decided: (request, decision) => metrics.countDecision(request.principal.type, decision.allowed),
    decidedRows: (rows) => metrics.countBatch(rows),
  };
}
