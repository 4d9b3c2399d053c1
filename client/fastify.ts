// `fleetguard/fastify`: a plugin that guards routes before their handlers run. A route says what it needs
// in `config.authorize`: `{ action, resource: (request) => … }` answers 401 without a principal, 404
// without the resource and 403 (with the decision id) unless allowed; `{ action, resourceType, columns? }`
// puts a query plan on `request.authorizationPlan` for a list to filter with. `request.authorize(…)`
// asks in a handler. The principal comes from a function the service supplies.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  authorizeFor,
  checkRoute,
  type GuardOptions,
  type ListGuard,
  type Principal,
  type ResourceGuard,
  type RouteGuard,
} from './guard.js';
import type { ClientDecision, ClientPlan, Entity } from './types.js';

export type { ListGuard, Principal, ResourceGuard, RouteGuard };

export interface FleetguardFastifyOptions extends GuardOptions<FastifyRequest> {
  /**
   * Refuse, at startup, a route registered after the plugin without `config.authorize` (`false` marks a
   * public one): no route is left unguarded by omission.
   */
  requireGuard?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How Fleetguard guards this route; `false`: public. */
    authorize?: RouteGuard<FastifyRequest> | false;
  }
  interface FastifyRequest {
    /** The decision for this request's principal (a deny, never a throw, when something fails). */
    authorize(action: string, resource: Entity, context?: Record<string, unknown>): Promise<ClientDecision>;
    /** On a list route (`config.authorize.resourceType`): the plan whose `sql` filters the list. */
    authorizationPlan: ClientPlan | null;
  }
}

const principals = new WeakMap<FastifyRequest, Promise<Principal | undefined | null>>();

/**
 * Register it at the root, before the routes it guards (it applies to the scope it is registered in, as
 * fastify-plugin would make it): `await app.register(fleetguard, { client, principal })`.
 */
export async function fleetguard(app: FastifyInstance, options: FleetguardFastifyOptions): Promise<void> {
  const principalOf = (request: FastifyRequest) => {
    let p = principals.get(request);
    if (!p) principals.set(request, (p = Promise.resolve().then(() => options.principal(request))));
    return p;
  };

  app.decorateRequest('authorizationPlan', null);
  app.decorateRequest(
    'authorize',
    async function (this: FastifyRequest, action: string, resource: Entity, context?: Record<string, unknown>) {
      return authorizeFor(options, () => principalOf(this), this, action, resource, context);
    },
  );

  if (options.requireGuard) {
    app.addHook('onRoute', (route) => {
      if (route.config?.authorize === undefined)
        throw new Error(
          `${route.method} ${route.url} has no config.authorize: say how Fleetguard guards it (false for a public route)`,
        );
    });
  }

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.config.authorize;
    if (!route) return;
    const outcome = await checkRoute(options, await principalOf(request), route, request);
    if (outcome.refusal) {
      const { status, body, decision } = outcome.refusal;
      if (decision?.error)
        request.log.warn(
          { decisionId: decision.decisionId, reason: decision.reason },
          'denied: Fleetguard could not decide',
        );
      return reply.code(status).send(body);
    }
    if (outcome.plan) {
      if (outcome.plan.error)
        request.log.warn({ reason: outcome.plan.reason }, 'list filtered to nothing: no plan from Fleetguard');
      request.authorizationPlan = outcome.plan;
    }
  });
}
// Applies to the scope it is registered in, as fastify-plugin would make it (without the dependency).
(fleetguard as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(fleetguard as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = 'fleetguard';
