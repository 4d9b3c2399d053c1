// The OpenID AuthZEN Authorization API 1.0 on the sidecar: evaluation, evaluations (batch semantics),
// subject/resource/action search and the metadata document. Subjects and resources the store knows are
// taken from it as they are; every decision goes to the decision log.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { planQuery, type AuthorizeRequest, type Decision, type Engine, type Entity } from '../../engine/index.js';
import { entityColumn } from '../store/entity-store.js';
import type { AppDeps } from '../app.js';
import {
  AzActionSearch,
  AzEvaluation,
  AzEvaluations,
  AzResourceSearch,
  AzSubjectSearch,
  isAzEvaluation,
  type AzAction,
  type AzEntity,
} from '../authzen-schemas.js';
import { HttpError } from '../errors.js';
import { recordDecision } from '../record-decision.js';
import { requireBearer } from '../plugins/admin-auth.js';
import { describeInvalid, jsonSchema } from '../schemas.js';

export const AUTHZEN_PATHS = {
  access_evaluation_endpoint: '/access/v1/evaluation',
  access_evaluations_endpoint: '/access/v1/evaluations',
  search_subject_endpoint: '/access/v1/search/subject',
  search_resource_endpoint: '/access/v1/search/resource',
  search_action_endpoint: '/access/v1/search/action',
} as const;

export function authzenRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { policies, entities } = deps;
  const preHandler = requireBearer(deps.config.authzenToken, 'the AuthZEN endpoints');

  /**
   * A stored entity is complete: every attribute comes from the store (the entity store, or the key store
   * for its devices, provisioning keys and users), absent ones take the schema's default or stay absent,
   * and the request's properties for it are ignored. A PEP cannot add a role or a support grant the PDP
   * does not record; only an entity the store does not know is described by the request.
   */
  const complete = (e: { type: string; id: string; properties?: Record<string, unknown> }): Entity => ({
    type: e.type,
    id: e.id,
    attributes: (entities.attributes(e.type, e.id) ?? e.properties ?? {}) as Record<string, unknown>,
  });

  const toRequest = (
    subject: AzEntity,
    action: AzAction,
    resource: AzEntity,
    context?: Record<string, unknown>,
  ): AuthorizeRequest => ({
    principal: complete(subject),
    action: action.name,
    resource: complete(resource),
    context: action.properties === undefined ? (context ?? {}) : { ...action.properties, ...context },
  });

  const decide = (e: Engine, req: AuthorizeRequest): Decision => {
    const t0 = performance.now();
    const decision = e.authorize(req);
    recordDecision(deps, req, decision, (performance.now() - t0) * 1000);
    return decision;
  };

  const decisionContext = (d: Decision) => ({
    decision_id: d.decisionId,
    policy_revision: d.policyRevision,
    matched: d.matched,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.errors ? { errors: d.errors } : {}),
  });

  const route = <T>(
    path: string,
    schema: import('zod').ZodType,
    handler: (body: T, request: FastifyRequest) => unknown,
  ) =>
    app.post<{ Body: T }>(
      path,
      { preHandler, schema: { body: jsonSchema(schema) }, config: { zod: schema, authzen: true } },
      async (request) => {
        entities.refresh();
        return handler(request.body as T, request);
      },
    );

  route<AzEvaluation>(AUTHZEN_PATHS.access_evaluation_endpoint, AzEvaluation, (body) => {
    const d = decide(policies.serving(), toRequest(body.subject, body.action, body.resource, body.context));
    return { decision: d.allowed, context: decisionContext(d) };
  });

  route<AzEvaluations>(AUTHZEN_PATHS.access_evaluations_endpoint, AzEvaluations, (body) => {
    const e = policies.serving();
    const items = body.evaluations ?? [];
    if (items.length === 0) {
      // No items: the request is a single evaluation of the defaults.
      const single = AzEvaluation.safeParse(body);
      if (!single.success) {
        const { message, path } = describeInvalid(AzEvaluation, body);
        throw new HttpError('invalid_request', message, path);
      }
      const d = decide(
        e,
        toRequest(single.data.subject, single.data.action, single.data.resource, single.data.context),
      );
      return { decision: d.allowed, context: decisionContext(d) };
    }
    const semantic = body.options?.evaluations_semantic ?? 'execute_all';
    const withContext = body.options?.include_context === true;
    const results: { decision: boolean; context?: unknown }[] = [];
    for (const raw of items) {
      // An item's own subject, action, resource or context replaces the default wholesale.
      const item = (raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<
        string,
        unknown
      >;
      const merged = {
        subject: item.subject ?? body.subject,
        action: item.action ?? body.action,
        resource: item.resource ?? body.resource,
        context: item.context ?? body.context,
      };
      let allowed: boolean;
      if (!isAzEvaluation(merged)) {
        const { message, path } = describeInvalid(AzEvaluation, merged);
        results.push({ decision: false, context: { error: { status: 400, message, ...(path ? { path } : {}) } } });
        allowed = false;
      } else {
        // Valid as it is: toRequest reads only the fields the schema names, so unknown ones are ignored.
        const valid = merged as AzEvaluation;
        const d = decide(e, toRequest(valid.subject, valid.action, valid.resource, valid.context));
        results.push(withContext ? { decision: d.allowed, context: decisionContext(d) } : { decision: d.allowed });
        allowed = d.allowed;
      }
      if ((semantic === 'deny_on_first_deny' && !allowed) || (semantic === 'permit_on_first_permit' && allowed)) break;
    }
    return { evaluations: results };
  });

  /**
   * The stored entities of a type for which `ask(entity)` is allowed, deciding one by one (each decision
   * logged). Every candidate is a stored entity, so the search's own properties do not change its
   * attributes (see `complete`).
   */
  const allowedAmong = (
    e: Engine,
    searched: { type: string; properties?: Record<string, unknown> | undefined },
    ask: (candidate: AzEntity) => AuthorizeRequest,
  ) =>
    entities
      .list(searched.type)
      .filter(
        (c) =>
          decide(
            e,
            ask({ type: c.type, id: c.id, ...(searched.properties ? { properties: searched.properties } : {}) }),
          ).allowed,
      )
      .map((c) => ({ type: c.type, id: c.id }));

  route<AzSubjectSearch>(AUTHZEN_PATHS.search_subject_endpoint, AzSubjectSearch, (body) => {
    const found = allowedAmong(policies.serving(), body.subject, (subject) =>
      toRequest(subject, body.action, body.resource, body.context),
    );
    return page(found, body.page);
  });

  route<AzResourceSearch>(AUTHZEN_PATHS.search_resource_endpoint, AzResourceSearch, (body) => {
    const e = policies.serving();
    // Resources come from the store only, so a query plan over the store answers exactly, in SQL;
    // properties sent with the search (or a plan that says it is partial) mean deciding row by row.
    if (!body.resource.properties) {
      const plan = planQuery(
        e.policySet,
        {
          principal: complete(body.subject),
          action: body.action.name,
          resourceType: body.resource.type,
          context: { ...body.action.properties, ...body.context },
          columnSql: entityColumn,
        },
        Date.now(),
      );
      if (!plan.partial)
        return page(
          entities.select(body.resource.type, plan.sql).map((id) => ({ type: body.resource.type, id })),
          body.page,
        );
    }
    const found = allowedAmong(e, body.resource, (resource) =>
      toRequest(body.subject, body.action, resource, body.context),
    );
    return page(found, body.page);
  });

  route<AzActionSearch>(AUTHZEN_PATHS.search_action_endpoint, AzActionSearch, (body) => {
    const e = policies.serving();
    const found = e.policySet.schema.actions
      .filter((name) => decide(e, toRequest(body.subject, { name }, body.resource, body.context)).allowed)
      .map((name) => ({ name }));
    return page(found, body.page);
  });

  app.get('/.well-known/authzen-configuration', async (request) => {
    const base = `${request.protocol}://${request.host}`;
    return {
      policy_decision_point: base,
      ...Object.fromEntries(Object.entries(AUTHZEN_PATHS).map(([k, path]) => [k, base + path])),
    };
  });
}

/** Results in pages: the token is the offset of the next page, opaque to clients. */
function page<T>(
  all: T[],
  requested: { token?: string | undefined; limit?: number | undefined } | undefined,
): { results: T[]; page?: { next_token: string } } {
  if (!requested) return { results: all };
  const offset = requested.token ? Number.parseInt(Buffer.from(requested.token, 'base64url').toString(), 10) : 0;
  if (!Number.isInteger(offset) || offset < 0)
    throw new HttpError('invalid_request', 'page.token is not a token this PDP issued', 'page.token');
  const limit = requested.limit ?? 1000;
  const results = all.slice(offset, offset + limit);
  const next = offset + limit < all.length ? Buffer.from(String(offset + limit)).toString('base64url') : '';
  return { results, page: { next_token: next } };
}
