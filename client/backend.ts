// What each mode (a sidecar over HTTP, the engine in process) provides; client.ts puts the fail-closed
// rules around it. `authorize` never rejects (each mode fails closed itself, on its hot path); the
// other calls may reject and are turned into denies by client.ts.
import type {
  AzActionSearchResponse,
  AzDecision,
  AzEntitySearchResponse,
  AzEvaluationsResponse,
} from '../api/authzen.js';
import type { PlanResponse, RulesResponse } from '../api/plans.js';
import type {
  ActionSearchRequest,
  AuthorizeRequest,
  ClientDecision,
  EvaluationRequest,
  EvaluationsRequest,
  PlanRequest,
  ResourceSearchRequest,
  RulesRequest,
  SubjectSearchRequest,
} from './types.js';

export interface Backend {
  authorize(request: AuthorizeRequest): Promise<ClientDecision>;
  /** Where a mode has a faster way to the same answer as `authorize(…).allowed`; never rejects either. */
  isAllowed?(request: AuthorizeRequest): Promise<boolean>;
  plan(request: PlanRequest): Promise<PlanResponse>;
  rules(request: RulesRequest): Promise<RulesResponse>;
  evaluation(request: EvaluationRequest): Promise<AzDecision>;
  evaluations(request: EvaluationsRequest): Promise<AzEvaluationsResponse>;
  subjectSearch(request: SubjectSearchRequest): Promise<AzEntitySearchResponse>;
  resourceSearch(request: ResourceSearchRequest): Promise<AzEntitySearchResponse>;
  actionSearch(request: ActionSearchRequest): Promise<AzActionSearchResponse>;
  ready(): Promise<void>;
  close(): Promise<void>;
}
