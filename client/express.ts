// `fleetguard/express`: the fastify plugin's guard as Express middleware. `fleetguard({ client, principal })`
// is middleware that gives every request `req.authorize(…)`; its `guard({ action, resource })` guards a
// route before the handler (401 without a principal, 404 without the resource, 403 with the decision id
// unless allowed), and `guard({ action, resourceType, columns? })` puts the list's query plan on
// `req.authorizationPlan`. Errors thrown by the service's own functions go to Express's error handling.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { authorizeFor, checkRoute, type GuardOptions, type Principal, type RouteGuard } from './guard.js';
import type { ClientDecision, ClientPlan, Entity } from './types.js';

export type { ListGuard, Principal, ResourceGuard, RouteGuard } from './guard.js';
export type FleetguardExpressOptions = GuardOptions<Request>;

declare global {
  namespace Express {
    interface Request {
      /** The decision for this request's principal (a deny, never a throw, when something fails). */
      authorize?: (action: string, resource: Entity, context?: Record<string, unknown>) => Promise<ClientDecision>;
      /** On a list route guarded with `resourceType`: the plan whose `sql` filters the list. */
      authorizationPlan?: ClientPlan;
    }
  }
}

export interface FleetguardMiddleware extends RequestHandler {
  /** Middleware for one route: checks before the handler runs. */
  guard(route: RouteGuard<Request>): RequestHandler;
}

export function fleetguard(options: FleetguardExpressOptions): FleetguardMiddleware {
  const principals = new WeakMap<Request, Promise<Principal | undefined | null>>();
  const principalOf = (req: Request) => {
    let p = principals.get(req);
    if (!p) principals.set(req, (p = Promise.resolve().then(() => options.principal(req))));
    return p;
  };
  const decorate = (req: Request) => {
    req.authorize ??= (action, resource, context) =>
      authorizeFor(options, () => principalOf(req), req, action, resource, context);
  };

  const middleware = ((req: Request, _res: Response, next: NextFunction) => {
    decorate(req);
    next();
  }) as FleetguardMiddleware;

  middleware.guard = (route) => (req, res, next) => {
    decorate(req);
    principalOf(req)
      .then((principal) => checkRoute(options, principal, route, req))
      .then((outcome) => {
        if (outcome.refusal) {
          res.status(outcome.refusal.status).json(outcome.refusal.body);
          return;
        }
        if (outcome.plan) req.authorizationPlan = outcome.plan;
        next();
      }, next);
  };
  return middleware;
}
