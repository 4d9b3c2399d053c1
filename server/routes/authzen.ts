// The OpenID AuthZEN Authorization API 1.0 on the sidecar: evaluation, evaluations (batch semantics),
// subject/resource/action search and the metadata document. The semantics are shared with the embedded
// client (api/authzen/evaluate.ts); here the store supplies the entities, every decision goes to the
// decision log, page tokens are encrypted, and an exact resource search is answered in SQL.
import type { FastifyInstance } from 'fastify';
import { authzenSemantics } from '../../api/authzen/evaluate.js';
import { planQuery, type AuthorizeRequest, type Engine } from '../../engine/index.js';
import type { AppDeps } from '../app.js';
import {
  AzActionSearch,
  AzEvaluation,
  AzResourceSearch,
  AzSubjectSearch,
  isAzEvaluation,
  type AzEvaluations,
} from '../authzen-schemas.js';
import { PageTokens, queryDigest } from '../authzen-paging.js';
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
  const onRequest = requireBearer(deps.config.authzenToken, 'the AuthZEN endpoints');
  const tokens = new PageTokens();

  const az = authzenSemantics({
    // The entity store, or the key store for its devices, provisioning keys and users.
    attributes: (type, id) => entities.attributes(type, id) as Record<string, unknown> | undefined,
    decide: (e: Engine, req: AuthorizeRequest) => {
      const t0 = performance.now();
      const decision = e.authorize(req);
      recordDecision(deps, req, decision, (performance.now() - t0) * 1000);
      return decision;
    },
    tokens: { digest: queryDigest, issue: (d, cursor) => tokens.issue(d, cursor), read: (t, d) => tokens.read(t, d) },
    batchLimit: deps.config.batchLimit,
    isEvaluation: isAzEvaluation,
  });

  const route = <T>(path: string, schema: import('zod').ZodType, handler: (body: T) => unknown) =>
    app.post<{ Body: T }>(
      path,
      { onRequest, schema: { body: jsonSchema(schema) }, config: { zod: schema, authzen: true } },
      async (request) => {
        entities.refresh();
        return handler(request.body as T);
      },
    );

  route<AzEvaluation>(AUTHZEN_PATHS.access_evaluation_endpoint, AzEvaluation, (body) =>
    az.evaluate(policies.serving(), body),
  );

  route<AzEvaluations>(AUTHZEN_PATHS.access_evaluations_endpoint, az.evaluationsBody, (body) => {
    const e = policies.serving();
    if ((body.evaluations ?? []).length > 0) return { evaluations: az.evaluateItems(e, body) };
    // No items: the request is a single evaluation of the defaults.
    const single = AzEvaluation.safeParse(body);
    if (!single.success) {
      const { message, path } = describeInvalid(AzEvaluation, body);
      throw new HttpError('invalid_request', message, path);
    }
    return az.evaluate(e, single.data);
  });

  route<AzSubjectSearch>(AUTHZEN_PATHS.search_subject_endpoint, AzSubjectSearch, (body) =>
    az.allowedPage(
      policies.serving(),
      'subject',
      body,
      body.subject,
      (after, count) => entities.ids(body.subject.type, after, count),
      (subject) => az.toRequest(subject, body.action, body.resource, body.context),
    ),
  );

  route<AzResourceSearch>(AUTHZEN_PATHS.search_resource_endpoint, AzResourceSearch, async (body) => {
    const e = policies.serving();
    const type = body.resource.type;
    // Resources come from the store only, so a query plan over the store answers exactly, in SQL;
    // properties sent with the search (or a plan that says it is partial) mean deciding row by row.
    if (!body.resource.properties) {
      const plan = planQuery(
        e.policySet,
        {
          principal: az.complete(body.subject),
          action: body.action.name,
          resourceType: type,
          context: { ...body.action.properties, ...body.context },
          columnSql: entities.columnSql(e.policySet.schema.resources.get(type)),
        },
        Date.now(),
      );
      if (!plan.partial)
        return az.selectedPage('resource', body, type, (after, count) =>
          entities.select(type, plan.sql, { after, count }),
        );
    }
    return az.allowedPage(
      e,
      'resource',
      body,
      body.resource,
      (after, count) => entities.ids(type, after, count),
      (resource) => az.toRequest(body.subject, body.action, resource, body.context),
    );
  });

  route<AzActionSearch>(AUTHZEN_PATHS.search_action_endpoint, AzActionSearch, (body) =>
    az.actionPage(policies.serving(), body),
  );

  app.get('/.well-known/authzen-configuration', async (request) => {
    // Behind a proxy the Host header names whatever the client sent: --public-url says where we are.
    const base = deps.config.publicUrl ?? `${request.protocol}://${request.host}`;
    return {
      policy_decision_point: base,
      ...Object.fromEntries(Object.entries(AUTHZEN_PATHS).map(([k, path]) => [k, base + path])),
    };
  });
}
