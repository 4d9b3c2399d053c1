// What a service sees of Fleetguard: the client's options and calls, typed from the zod schemas the
// sidecar validates with (api/, engine/schema/). Type imports only: nothing here runs.
import type { z } from 'zod';
import type { HttpAuthorizeRequest } from '../api/authorize.js';
import type {
  AzActionSearch,
  AzActionSearchResponse,
  AzDecision,
  AzEntitySearchResponse,
  AzEvaluation,
  AzEvaluations,
  AzEvaluationsResponse,
  AzResourceSearch,
  AzSubjectSearch,
} from '../api/authzen.js';
import type {
  PlanRequest as PlanRequestShape,
  PlanResponse,
  RulesRequest as RulesRequestShape,
  RulesResponse,
} from '../api/plans.js';
import type { Decision, Entity } from '../engine/schema/index.js';

export type { Decision, Entity };

/** A request as `/v1/authorize` takes it: the principal inline or `{ credential }` (sidecar mode only). */
export type AuthorizeRequest = z.input<typeof HttpAuthorizeRequest>;
export type PlanRequest = z.input<typeof PlanRequestShape>;
export type RulesRequest = z.input<typeof RulesRequestShape>;

/** Set when the client, not the policies, decided (fail closed): what went wrong. */
export interface Failure {
  error?: Error;
}
export type ClientDecision = Decision & Failure;
/** A plan; on failure an `always_denied` one (`where` is `1 = 0`) with the reason and the error. */
export type ClientPlan = PlanResponse & Failure;
/** The principal's CASL rules; on failure none (CASL then denies everything), with the reason and error. */
export type ClientRules = RulesResponse & Failure;

export type EvaluationRequest = z.input<typeof AzEvaluation>;
export type EvaluationsRequest = z.input<ReturnType<typeof AzEvaluations>>;
export type SubjectSearchRequest = z.input<typeof AzSubjectSearch>;
export type ResourceSearchRequest = z.input<typeof AzResourceSearch>;
export type ActionSearchRequest = z.input<typeof AzActionSearch>;
export type { AzActionSearchResponse, AzDecision, AzEntitySearchResponse, AzEvaluationsResponse };

interface Common {
  /** Whole time a call may take, retries included (default 1000 ms); then it is a deny. */
  timeoutMs?: number;
}

/** Ask a sidecar over HTTP: `url` (`http://127.0.0.1:8181`) or `socketPath` (a Unix socket). */
export interface HttpClientOptions extends Common {
  url?: string;
  socketPath?: string;
  /** Sent as `Authorization: Bearer <token>` (the AuthZEN endpoints may require one). */
  token?: string;
  /** Most `authorize` calls sent in one `/v1/authorize/batch` request (default 100; 1 sends each alone). */
  maxBatch?: number;
  /** How long a call waits for others to join its batch: 0 (the default) means the calls of the same tick. */
  batchWindowMs?: number;
  /** Most keep-alive connections to the sidecar (default 16). */
  connections?: number;
  /** Attempts of a call when a retry is safe (default 3: two retries), within `timeoutMs` and the retry budget. */
  maxAttempts?: number;
}

/** Decide in this process with the engine, from a policy directory: no sidecar. */
export interface EmbeddedClientOptions extends Common {
  policies: string;
  /** Reload when files in the directory change; a set that does not compile leaves the last good one serving. */
  watch?: boolean;
  /** Told of every reload (and of the first load): the revision, or the errors. */
  onReload?: (result: { ok: boolean; revision?: string; errors?: string[] }) => void;
  /** Most items of one AuthZEN `evaluations` call, as the sidecar's --batch-limit (default 1000). */
  batchLimit?: number;
}

export type ClientOptions = HttpClientOptions | EmbeddedClientOptions;

export interface FleetguardClient {
  readonly mode: 'http' | 'embedded';
  /** The decision; never rejects: when the service cannot answer, a deny saying why (`error` attached). */
  authorize(request: AuthorizeRequest): Promise<ClientDecision>;
  /** `true` only for an allow decided by the policies. */
  isAllowed(request: AuthorizeRequest): Promise<boolean>;
  /** One decision per request, in order. */
  authorizeMany(requests: readonly AuthorizeRequest[]): Promise<ClientDecision[]>;
  /** A filter for list queries: the SQL where clause and its parameters (`/v1/plan`). */
  plan(request: PlanRequest): Promise<ClientPlan>;
  /** The principal's packed CASL rules for front ends (`/v1/rules`). */
  rules(request: RulesRequest): Promise<ClientRules>;
  /** AuthZEN Authorization API 1.0. */
  evaluation(request: EvaluationRequest): Promise<AzDecision & Failure>;
  /** AuthZEN batch; a request without items (a single evaluation) answers with one item. */
  evaluations(request: EvaluationsRequest): Promise<AzEvaluationsResponse & Failure>;
  subjectSearch(request: SubjectSearchRequest): Promise<AzEntitySearchResponse & Failure>;
  resourceSearch(request: ResourceSearchRequest): Promise<AzEntitySearchResponse & Failure>;
  actionSearch(request: ActionSearchRequest): Promise<AzActionSearchResponse & Failure>;
  /** Resolves once decisions can be made (sidecar ready, or policies loaded); rejects saying why not. */
  ready(): Promise<void>;
  /** Closes connections (or the policy watcher); calls after it are denied. */
  close(): Promise<void>;
}
