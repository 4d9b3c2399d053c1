// What the fastify plugin and the Express middleware share: from a route's `authorize` option and the
// request's principal to "go on" (with the list filter, for a list route) or the answer to send instead.
// Only an allow decided by the policies lets a request through.
import { failedDecision, Rejected } from './fail-closed.js';
import type { AuthorizeRequest, ClientDecision, ClientPlan, Entity, FleetguardClient } from './types.js';

export type Principal = AuthorizeRequest['principal'];
type Maybe<T> = T | undefined | null;
type Context<Req> = (request: Req) => Maybe<Record<string, unknown>>;

/** A single-object route: its resource, looked up by the service (undefined or null: 404). */
export interface ResourceGuard<Req> {
  action: string;
  resource: (request: Req) => Maybe<Entity> | Promise<Maybe<Entity>>;
  /** Added to the context the middleware's `context` option gives (this one wins). */
  context?: Context<Req>;
}

/** A list route: a query plan for the resource type, for the handler to filter with (`where` and `params`). */
export interface ListGuard<Req> {
  action: string;
  resourceType: string;
  /** attribute → column in the service's table (default: the attribute name). */
  columns?: Record<string, string>;
  context?: Context<Req>;
}

export type RouteGuard<Req> = ResourceGuard<Req> | ListGuard<Req>;

export interface GuardOptions<Req> {
  client: FleetguardClient;
  /** Who is asking, from the service's own session or credentials; undefined or null: 401, nothing asked. */
  principal: (request: Req) => Maybe<Principal> | Promise<Maybe<Principal>>;
  /** Context for every decision (the client's address, whether the session passed MFA, …). */
  context?: Context<Req>;
}

export interface Refusal {
  status: 401 | 403 | 404;
  body: { error: { code: string; message: string }; decisionId?: string };
  /** The decision behind a 403, to log. */
  decision?: ClientDecision;
}

export type GuardOutcome = { plan?: ClientPlan; decision?: ClientDecision; refusal?: undefined } | { refusal: Refusal };

const NO_PRINCIPAL = 'the request carries no credentials this service accepts';

export function unauthenticated(): Refusal {
  return { status: 401, body: { error: { code: 'unauthorized', message: NO_PRINCIPAL } } };
}

export function forbidden(decision: ClientDecision): Refusal {
  return {
    status: 403,
    body: { error: { code: 'denied', message: 'not allowed' }, decisionId: decision.decisionId },
    decision,
  };
}

function contextOf<Req>(options: GuardOptions<Req>, route: { context?: Context<Req> } | undefined, request: Req) {
  const shared = options.context?.(request) ?? undefined;
  const own = route?.context?.(request) ?? undefined;
  return shared && own ? { ...shared, ...own } : (own ?? shared);
}

/**
 * `request.authorize(action, resource, context?)`: the decision for the request's principal. Never throws:
 * a principal or context function that throws makes a deny too.
 */
export async function authorizeFor<Req>(
  options: GuardOptions<Req>,
  principalOf: () => Promise<Maybe<Principal>>,
  request: Req,
  action: string,
  resource: Entity,
  context?: Record<string, unknown>,
): Promise<ClientDecision> {
  try {
    const principal = await principalOf();
    if (principal == null) return failedDecision(new Rejected('unauthorized', NO_PRINCIPAL));
    const shared = options.context?.(request) ?? undefined;
    const merged = shared && context ? { ...shared, ...context } : (context ?? shared);
    return await options.client.authorize({ principal, action, resource, ...(merged ? { context: merged } : {}) });
  } catch (e) {
    return failedDecision(e);
  }
}

/** The check a route's option asks for, before its handler runs. */
export async function checkRoute<Req>(
  options: GuardOptions<Req>,
  principal: Maybe<Principal>,
  route: RouteGuard<Req>,
  request: Req,
): Promise<GuardOutcome> {
  if (principal == null) return { refusal: unauthenticated() };
  const context = contextOf(options, route, request);
  if ('resourceType' in route) {
    const plan = await options.client.plan({
      principal: principal as Entity,
      action: route.action,
      resourceType: route.resourceType,
      ...(route.columns ? { columns: route.columns } : {}),
      ...(context ? { context } : {}),
    });
    return { plan };
  }
  const resource = await route.resource(request);
  if (resource == null)
    return { refusal: { status: 404, body: { error: { code: 'not_found', message: 'no such resource' } } } };
  const decision = await options.client.authorize({
    principal,
    action: route.action,
    resource,
    ...(context ? { context } : {}),
  });
  return decision.allowed === true && decision.decision === 'allow' ? { decision } : { refusal: forbidden(decision) };
}
