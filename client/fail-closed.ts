// Failing closed: whatever goes wrong on the way to a decision, the caller gets a deny that says why, with
// the error attached, never an exception. A plan that failed filters out every row; rules that failed
// allow nothing; an AuthZEN call that failed answers `decision: false`.
import { decisionIdGenerator } from '../engine/decision-id.js';
import type {
  AzActionSearchResponse,
  AzDecision,
  AzEntitySearchResponse,
  AzEvaluationsResponse,
} from '../api/authzen.js';
import type { ClientDecision, ClientPlan, ClientRules, EvaluationsRequest, Failure } from './types.js';

export const UNREACHABLE = 'the authorization service could not be reached';
export const REJECTED = 'the authorization service rejected the request';

/** No usable answer: a refused connection, a timeout, a 5xx, an answer that does not parse. */
export class Unreachable extends Error {
  readonly code = 'unreachable';
  constructor(
    message: string,
    /** Safe and useful to try again (nothing was decided, or the service said it is not ready). */
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The service answered that the request is wrong (4xx): asking again would not help. */
export class Rejected extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly path?: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** An embedded client whose policy directory does not compile (or cannot be read). */
export class PoliciesUnavailable extends Error {
  readonly code = 'policies-unavailable';
}

/** The reason and code a failure is reported with. */
export function describeFailure(
  error: unknown,
  unreachable = UNREACHABLE,
): { code: string; reason: string; error: Error } {
  const e = error instanceof Error ? error : new Error(String(error));
  if (e instanceof Rejected) return { code: e.code, reason: `${REJECTED}: ${e.message}`, error: e };
  if (e instanceof Unreachable) return { code: e.code, reason: `${unreachable}: ${e.message}`, error: e };
  if (e instanceof PoliciesUnavailable)
    return { code: e.code, reason: `the policies could not be loaded: ${e.message}`, error: e };
  return { code: 'client-error', reason: `the request could not be decided: ${e.message}`, error: e };
}

const newDecisionId = decisionIdGenerator();

export function failedDecision(error: unknown): ClientDecision {
  const { code, reason, error: e } = describeFailure(error);
  return {
    decision: 'deny',
    allowed: false,
    decisionId: newDecisionId(),
    policyRevision: '',
    matched: [],
    reason,
    errors: [{ code, message: e.message }],
    error: e,
  };
}

export function failedPlan(error: unknown): ClientPlan {
  const { reason, error: e } = describeFailure(error);
  return {
    kind: 'always_denied',
    condition: null,
    sql: { where: '1 = 0', params: [] },
    policyRevision: '',
    reason,
    error: e,
  };
}

export function failedRules(error: unknown): ClientRules {
  const { reason, error: e } = describeFailure(error);
  return { rules: [], policyRevision: '', reason, error: e };
}

function failedContext(error: unknown): Failure & { context: Record<string, unknown> } {
  const { reason, error: e } = describeFailure(error);
  return { context: { reason }, error: e };
}

export function failedEvaluation(error: unknown): AzDecision & Failure {
  return { decision: false, ...failedContext(error) };
}

/** One denied item per requested evaluation (only the first under deny_on_first_deny, as the PDP would stop there). */
export function failedEvaluations(request: EvaluationsRequest, error: unknown): AzEvaluationsResponse & Failure {
  const { context, error: e } = failedContext(error);
  const asked = Math.max(1, Array.isArray(request?.evaluations) ? request.evaluations.length : 0);
  const n = request?.options?.evaluations_semantic === 'deny_on_first_deny' ? 1 : asked;
  return { evaluations: Array.from({ length: n }, () => ({ decision: false, context })), error: e };
}

export function failedSearch<T extends AzEntitySearchResponse | AzActionSearchResponse>(error: unknown): T & Failure {
  return { results: [], ...failedContext(error) } as unknown as T & Failure;
}
