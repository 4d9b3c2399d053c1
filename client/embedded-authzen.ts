// The AuthZEN calls decided in process, as the sidecar's routes decide them (server/routes/authzen.ts):
// an entity the pack's entities.yaml knows is taken from it as it is (the caller's properties describe
// only unknown ones), action properties join the context, the batch semantics, searches in pages. The
// same tests, upstream case files included, run against both (test/client/authzen.test.ts).
import { describeInvalid } from '../api/authorize.js';
import {
  AzActionSearch,
  AzEvaluation,
  AzEvaluations,
  AzResourceSearch,
  AzSubjectSearch,
  type AzAction,
  type AzActionSearchResponse,
  type AzDecision,
  type AzEntity,
  type AzEntitySearchResponse,
  type AzEvaluationsResponse,
} from '../api/authzen.js';
import type { AuthorizeRequest, Decision, Engine, Entity } from '../engine/index.js';
import type { StoredEntity } from '../engine/schema/entities-file.js';
import type { z } from 'zod';
import { Rejected } from './fail-closed.js';

/** The pack's entities by type, then id (ids in order, as the store lists them). */
export type EntityIndex = Map<string, Map<string, Record<string, unknown>>>;

export function indexEntities(entities: readonly StoredEntity[]): EntityIndex {
  const index: EntityIndex = new Map();
  const sorted = [...entities].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const e of sorted) {
    let byId = index.get(e.type);
    if (!byId) index.set(e.type, (byId = new Map()));
    byId.set(e.id, e.attributes);
  }
  return index;
}

function parsed<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const { message, path } = describeInvalid(schema, body);
  throw new Rejected('invalid_request', message, path, 400);
}

export function embeddedAuthzen(engine: () => Engine, entities: () => EntityIndex) {
  /** A stored entity is complete (the request's properties for it are ignored); only an unknown one is described by the request. */
  const complete = (e: { type: string; id: string; properties?: Record<string, unknown> | undefined }): Entity => ({
    type: e.type,
    id: e.id,
    attributes: entities().get(e.type)?.get(e.id) ?? e.properties ?? {},
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
  const decisionContext = (d: Decision) => ({
    decision_id: d.decisionId,
    policy_revision: d.policyRevision,
    matched: d.matched,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.errors ? { errors: d.errors } : {}),
  });
  const evaluate = (e: Engine, body: z.infer<typeof AzEvaluation>): AzDecision => {
    const d = e.authorize(toRequest(body.subject, body.action, body.resource, body.context));
    return { decision: d.allowed, context: decisionContext(d) };
  };
  const allowedAmong = (
    searched: { type: string; properties?: Record<string, unknown> | undefined },
    ask: (candidate: AzEntity) => AuthorizeRequest,
  ) => {
    const e = engine();
    const found: { type: string; id: string }[] = [];
    for (const id of entities().get(searched.type)?.keys() ?? []) {
      const candidate = {
        type: searched.type,
        id,
        ...(searched.properties ? { properties: searched.properties } : {}),
      };
      if (e.authorize(ask(candidate)).allowed) found.push({ type: searched.type, id });
    }
    return found;
  };

  return {
    evaluation: (body: unknown): AzDecision => evaluate(engine(), parsed(AzEvaluation, body)),

    evaluations(raw: unknown): AzEvaluationsResponse {
      const body = parsed(AzEvaluations(Number.MAX_SAFE_INTEGER), raw);
      const e = engine();
      const items = body.evaluations ?? [];
      if (items.length === 0) return { evaluations: [evaluate(e, parsed(AzEvaluation, body))] };
      const semantic = body.options?.evaluations_semantic ?? 'execute_all';
      const withContext = body.options?.include_context === true;
      const results: AzDecision[] = [];
      for (const item of items) {
        const own = (item !== null && typeof item === 'object' && !Array.isArray(item) ? item : {}) as Record<
          string,
          unknown
        >;
        const merged = {
          subject: own.subject ?? body.subject,
          action: own.action ?? body.action,
          resource: own.resource ?? body.resource,
          context: own.context ?? body.context,
        };
        const valid = AzEvaluation.safeParse(merged);
        let allowed = false;
        if (!valid.success) {
          const { message, path } = describeInvalid(AzEvaluation, merged);
          results.push({ decision: false, context: { error: { status: 400, message, ...(path ? { path } : {}) } } });
        } else {
          const d = evaluate(e, valid.data);
          results.push(withContext ? d : { decision: d.decision });
          allowed = d.decision;
        }
        if ((semantic === 'deny_on_first_deny' && !allowed) || (semantic === 'permit_on_first_permit' && allowed))
          break;
      }
      return { evaluations: results };
    },

    subjectSearch(raw: unknown): AzEntitySearchResponse {
      const body = parsed(AzSubjectSearch, raw);
      const found = allowedAmong(body.subject, (subject) =>
        toRequest(subject, body.action, body.resource, body.context),
      );
      return page(found, body.page);
    },

    resourceSearch(raw: unknown): AzEntitySearchResponse {
      const body = parsed(AzResourceSearch, raw);
      const found = allowedAmong(body.resource, (resource) =>
        toRequest(body.subject, body.action, resource, body.context),
      );
      return page(found, body.page);
    },

    actionSearch(raw: unknown): AzActionSearchResponse {
      const body = parsed(AzActionSearch, raw);
      const e = engine();
      const found = e.policySet.schema.actions
        .filter((name) => e.authorize(toRequest(body.subject, { name }, body.resource, body.context)).allowed)
        .map((name) => ({ name }));
      return page(found, body.page);
    },
  };
}

/** Results in pages: the token is the offset of the next page, as the sidecar issues it. */
function page<T>(
  all: T[],
  requested: { token?: string | undefined; limit?: number | undefined } | undefined,
): { results: T[]; page?: { next_token: string } } {
  if (!requested) return { results: all };
  const offset = requested.token ? Number.parseInt(Buffer.from(requested.token, 'base64url').toString(), 10) : 0;
  if (!Number.isInteger(offset) || offset < 0)
    throw new Rejected('invalid_request', 'page.token is not a token this PDP issued', 'page.token', 400);
  const limit = requested.limit ?? 1000;
  const results = all.slice(offset, offset + limit);
  const next = offset + limit < all.length ? Buffer.from(String(offset + limit)).toString('base64url') : '';
  return { results, page: { next_token: next } };
}
