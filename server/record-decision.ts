import type { AuthorizeRequest, Decision } from '../engine/index.js';
import type { AppDeps } from './app.js';
import type { LogBatch } from './decision-log/batch.js';

/** Every decision served over HTTP goes to the decision log and the metrics, the same way. */
export function recordDecision(
  deps: Pick<AppDeps, 'decisionLog' | 'metrics'>,
  req: AuthorizeRequest,
  decision: Decision,
  latencyUs: number,
): void {
  deps.decisionLog.append(decision, req, latencyUs);
  deps.metrics.countDecision(req.principal.type, decision.allowed);
}

/** The same for a batch's decisions, made as log rows (on a decision thread or by decideBatch). */
export function recordBatch(deps: Pick<AppDeps, 'decisionLog' | 'metrics'>, rows: LogBatch): void {
  deps.decisionLog.appendBatch(rows);
  deps.metrics.countBatch(rows);
}
