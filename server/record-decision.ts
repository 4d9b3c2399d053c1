import type { AuthorizeRequest, Decision } from '../engine/index.js';
import type { AppDeps } from './app.js';

/** Every decision served over HTTP goes to the decision log and the metrics, the same way. */
export function recordDecision(deps: Pick<AppDeps, 'decisionLog' | 'metrics'>, req: AuthorizeRequest, decision: Decision, latencyUs: number): void {
  deps.decisionLog.append(decision, req, latencyUs);
  deps.metrics.countDecision(req.principal.type, decision.allowed);
}
