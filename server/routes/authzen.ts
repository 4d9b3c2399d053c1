// The OpenID AuthZEN Authorization API 1.0 on the sidecar: evaluation, evaluations (batch semantics),
// subject/resource/action search and the metadata document. Subjects and resources the store knows are
// taken from it as they are; every decision goes to the decision log.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { planQuery, type AuthorizeRequest, type Decision, type Engine, type Entity } from '../../engine/index.js';
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
  type AzPage,
} from '../authzen-schemas.js';
import { DEFAULT_PAGE_SIZE, fillPage, fillPageFrom, PageTokens, queryDigest } from '../authzen-paging.js';
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
      { onRequest, schema: { body: jsonSchema(schema) }, config: { zod: schema, authzen: true } },
      async (request) => {
        entities.refresh();
        return handler(request.body as T, request);
      },
    );

  route<AzEvaluation>(AUTHZEN_PATHS.access_evaluation_endpoint, AzEvaluation, (body) => {
    const d = decide(policies.serving(), toRequest(body.subject, body.action, body.resource, body.context));
    return { decision: d.allowed, context: decisionContext(d) };
  });

  route<AzEvaluations>(AUTHZEN_PATHS.access_evaluations_endpoint, AzEvaluations(deps.config.batchLimit), (body) => {
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

  const tokens = new PageTokens();

  /** Where a search's page starts and how many results it holds; `answer` makes its response. */
  const pageOf = (kind: string, body: { page?: AzPage }) => {
    const { page, ...query } = body;
    const digest = queryDigest(kind, query);
    return {
      after: page?.token ? tokens.read(page.token, digest) : undefined,
      limit: page?.limit ?? DEFAULT_PAGE_SIZE,
      answer: <T>(results: T[], next: string | undefined) => ({
        results,
        page: { next_token: next === undefined ? '' : tokens.issue(digest, next) },
      }),
    };
  };

  /** The ids of the stored entities of `type` in store order after `after`, read a page's worth at a time. */
  async function* storeOrder(type: string, after: string | undefined, chunk: number): AsyncGenerator<string> {
    for (let cursor = after; ; ) {
      const ids = await entities.ids(type, cursor, chunk);
      yield* ids;
      if (ids.length < chunk) return;
      cursor = ids[ids.length - 1];
    }
  }

  /**
   * One page of the stored entities of a type for which `ask(entity)` is allowed, deciding one by one in
   * store order (each decision logged). Every candidate is a stored entity, so the search's own
   * properties do not change its attributes (see `complete`).
   */
  const allowedPage = async (
    e: Engine,
    kind: string,
    body: { page?: AzPage },
    searched: { type: string; properties?: Record<string, unknown> | undefined },
    ask: (candidate: AzEntity) => AuthorizeRequest,
  ) => {
    const p = pageOf(kind, body);
    const properties = searched.properties ? { properties: searched.properties } : {};
    const { results, next } = await fillPageFrom(
      storeOrder(searched.type, p.after, p.limit + 1),
      (id) => decide(e, ask({ type: searched.type, id, ...properties })).allowed,
      p.limit,
    );
    return p.answer(
      results.map((id) => ({ type: searched.type, id })),
      next,
    );
  };

  route<AzSubjectSearch>(AUTHZEN_PATHS.search_subject_endpoint, AzSubjectSearch, (body) =>
    allowedPage(policies.serving(), 'subject', body, body.subject, (subject) =>
      toRequest(subject, body.action, body.resource, body.context),
    ),
  );

  route<AzResourceSearch>(AUTHZEN_PATHS.search_resource_endpoint, AzResourceSearch, async (body) => {
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
          columnSql: entities.columnSql(e.policySet.schema.resources.get(body.resource.type)),
        },
        Date.now(),
      );
      if (!plan.partial) {
        const p = pageOf('resource', body);
        const ids = await entities.select(body.resource.type, plan.sql, { after: p.after, count: p.limit + 1 });
        const results = ids.slice(0, p.limit).map((id) => ({ type: body.resource.type, id }));
        return p.answer(results, ids.length > p.limit ? ids[p.limit - 1] : undefined);
      }
    }
    return allowedPage(e, 'resource', body, body.resource, (resource) =>
      toRequest(body.subject, body.action, resource, body.context),
    );
  });

  route<AzActionSearch>(AUTHZEN_PATHS.search_action_endpoint, AzActionSearch, (body) => {
    const e = policies.serving();
    const p = pageOf('action', body);
    // The cursor is the index of the last action examined, in the schema's order.
    const first = p.after === undefined ? 0 : Number(p.after) + 1;
    const { results, next } = fillPage(
      e.policySet.schema.actions.slice(first).map((name, i) => ({ name, at: first + i })),
      ({ name }) => decide(e, toRequest(body.subject, { name }, body.resource, body.context)).allowed,
      p.limit,
    );
    return p.answer(
      results.map(({ name }) => ({ name })),
      next && String(next.at),
    );
  });

  app.get('/.well-known/authzen-configuration', async (request) => {
    // Behind a proxy the Host header names whatever the client sent: --public-url says where we are.
    const base = deps.config.publicUrl ?? `${request.protocol}://${request.host}`;
    return {
      policy_decision_point: base,
      ...Object.fromEntries(Object.entries(AUTHZEN_PATHS).map(([k, path]) => [k, base + path])),
    };
  });
}
