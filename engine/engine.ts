// An engine is a compiled policy set plus the two things deciding needs from the outside world: a clock
// (for context.time) and decision ids. Both are injected, so the engine stays pure and testable.
import { authorize, isAllowed } from './decide/authorize.js';
import { explain, type Explanation } from './explain/explain.js';
import type { AuthorizeRequest, Decision, DecisionError, PolicySet } from './types.js';

export interface EngineOptions {
  clock: () => number;
  newDecisionId: () => string;
}

export interface Engine {
  readonly policySet: PolicySet;
  readonly revision: string;
  authorize(request: AuthorizeRequest): Decision;
  /** `authorize(request).allowed`, without the decision: no object, no id (nothing to log or return). */
  isAllowed(request: AuthorizeRequest): boolean;
  authorizeBatch(requests: readonly AuthorizeRequest[]): Decision[];
  explain(request: AuthorizeRequest): Explanation;
  /** A deny made before any rule could run (an invalid credential): same shape, id and revision. */
  reject(reason: string, error: DecisionError): Decision;
}

export function createEngine(policySet: PolicySet, options: EngineOptions): Engine {
  const { clock, newDecisionId } = options;
  return {
    policySet,
    revision: policySet.revision,
    authorize: (request) => authorize(policySet, request, clock(), newDecisionId()),
    isAllowed: (request) => isAllowed(policySet, request, clock()),
    authorizeBatch: (requests) => {
      const now = clock();
      return requests.map((r) => authorize(policySet, r, now, newDecisionId()));
    },
    explain: (request) => explain(policySet, request, clock(), newDecisionId()),
    reject: (reason, error) => ({
      decision: 'deny',
      allowed: false,
      decisionId: newDecisionId(),
      policyRevision: policySet.revision,
      matched: [],
      reason,
      errors: [error],
    }),
  };
}
