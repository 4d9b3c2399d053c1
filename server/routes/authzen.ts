// The OpenID AuthZEN Authorization API 1.0 on the sidecar: evaluation, evaluations (batch semantics),
// subject/resource/action search and the metadata document. The semantics are shared with the embedded
// client (api/authzen/evaluate.ts); here every decision is the decision service's (entities completed
// from the store, timed and logged like any other), page tokens are encrypted, and an exact resource
// search is answered in SQL.
import type { FastifyPluginCallback } from 'fastify';
import type { z } from 'zod';
import { authzenSemantics } from '../../api/authzen/evaluate.js';
import { planQuery } from '../../engine/index.js';
import {
  AzActionSearch,
  AzEvaluation,
  AzResourceSearch,
  AzSubjectSearch,
  isAzEvaluation,
  type AzEvaluations,
} from '../authzen-schemas.js';
import { PageTokens, queryDigest } from '../authzen-paging.js';
import { bodyRoute, bodySchema } from '../body/body-schema.js';
import type { ServerConfig } from '../config.js';
import type { DecisionService } from '../decide/decision-service.js';
import { HttpError } from '../errors.js';
import { requireBearer } from '../plugins/admin-auth.js';
import { describeInvalid } from '../schemas.js';
import type { EntityStore } from '../store/stores.js';

export const AUTHZEN_PATHS = {
  access_evaluation_endpoint: '/access/v1/evaluation',
  access_evaluations_endpoint: '/access/v1/evaluations',
  search_subject_endpoint: '/access/v1/search/subject',
  search_resource_endpoint: '/access/v1/search/resource',
  search_action_endpoint: '/access/v1/search/action',
} as const;

export interface AuthzenRoutesOptions {
  decisions: DecisionService;
  /** The store the searches list their candidates from (and an exact resource search selects in). */
  entities: EntityStore;
  config: Pick<ServerConfig, 'authzenToken' | 'batchLimit' | 'publicUrl'>;
}

export const authzenRoutes: FastifyPluginCallback<AuthzenRoutesOptions> = (app, options, done) => {
  const { decisions, entities, config } = options;
  const onRequest = requireBearer(config.authzenToken, 'the AuthZEN endpoints');
  const tokens = new PageTokens();

  const az = authzenSemantics({
    attributes: decisions.storedAttributes,
    decide: (e, ask) => decisions.decideCompleted(e, ask),
    tokens: { digest: queryDigest, issue: (d, cursor) => tokens.issue(d, cursor), read: (t, d) => tokens.read(t, d) },
    batchLimit: config.batchLimit,
    isEvaluation: isAzEvaluation,
  });

  const route = <T>(path: string, schema: z.ZodType, handler: (body: T) => unknown) => {
    const body = bodyRoute(bodySchema(schema));
    app.post<{ Body: T }>(
      path,
      { onRequest, schema: body.schema, config: { ...body.config, authzen: true } },
      async (request) => {
        decisions.refreshEntities();
        return handler(request.body as T);
      },
    );
  };

  route<AzEvaluation>(AUTHZEN_PATHS.access_evaluation_endpoint, AzEvaluation, (body) =>
    az.evaluate(decisions.serving(), body),
  );

  route<AzEvaluations>(AUTHZEN_PATHS.access_evaluations_endpoint, az.evaluationsBody, (body) => {
    const e = decisions.serving();
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
      decisions.serving(),
      'subject',
      body,
      body.subject,
      (after, count) => entities.ids(body.subject.type, after, count),
      (subject) => az.toRequest(subject, body.action, body.resource, body.context),
    ),
  );

  route<AzResourceSearch>(AUTHZEN_PATHS.search_resource_endpoint, AzResourceSearch, async (body) => {
    const e = decisions.serving();
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
    az.actionPage(decisions.serving(), body),
  );

  app.get('/.well-known/authzen-configuration', async (request) => {
    // Behind a proxy the Host header names whatever the client sent: --public-url says where we are.
    const base = config.publicUrl ?? `${request.protocol}://${request.host}`;
    return {
      policy_decision_point: base,
      ...Object.fromEntries(Object.entries(AUTHZEN_PATHS).map(([k, path]) => [k, base + path])),
    };
  });
  done();
};
