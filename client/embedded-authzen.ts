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
  type AzPage,
} from '../api/authzen.js';
import { planQuery, type AuthorizeRequest, type Decision, type Engine, type Entity } from '../engine/index.js';
import type { StoredEntity } from '../engine/entities/index.js';
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
  /**
   * One page of the pack's entities of a type for which `ask(entity)` is allowed, in id order, as the
   * sidecar pages its store (server/routes/authzen.ts): at most `limit` results from at most SCAN_FACTOR ×
   * limit candidates, or, where the sidecar selects them in SQL (`unbounded`), the first `limit` matches.
   */
  const allowedPage = (
    kind: string,
    body: { page?: AzPage | undefined },
    searched: { type: string; properties?: Record<string, unknown> | undefined },
    ask: (candidate: AzEntity) => AuthorizeRequest,
    unbounded = false,
  ): AzEntitySearchResponse => {
    const e = engine();
    const p = pageOf(kind, body);
    const ids = [...(entities().get(searched.type)?.keys() ?? [])];
    const start = p.after === undefined ? 0 : ids.findIndex((id) => id > p.after!);
    const properties = searched.properties ? { properties: searched.properties } : {};
    const candidates = start < 0 ? [] : ids.slice(start);
    const allowed = (id: string) => e.authorize(ask({ type: searched.type, id, ...properties })).allowed;
    const { results, next } = unbounded
      ? firstMatches(candidates, allowed, p.limit)
      : fillPage(candidates, allowed, p.limit);
    return p.answer(
      results.map((id) => ({ type: searched.type, id })),
      next,
    );
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
      return allowedPage('subject', body, body.subject, (subject) =>
        toRequest(subject, body.action, body.resource, body.context),
      );
    },

    resourceSearch(raw: unknown): AzEntitySearchResponse {
      const body = parsed(AzResourceSearch, raw);
      // Without properties the sidecar answers from a query plan in SQL when the plan is exact: every
      // candidate may be decided, as deciding each gives the same rows (plan parity).
      const exact =
        !body.resource.properties &&
        !planQuery(
          engine().policySet,
          {
            principal: complete(body.subject),
            action: body.action.name,
            resourceType: body.resource.type,
            context: { ...body.action.properties, ...body.context },
          },
          Date.now(),
        ).partial;
      return allowedPage(
        'resource',
        body,
        body.resource,
        (resource) => toRequest(body.subject, body.action, resource, body.context),
        exact,
      );
    },

    actionSearch(raw: unknown): AzActionSearchResponse {
      const body = parsed(AzActionSearch, raw);
      const e = engine();
      const p = pageOf('action', body);
      // The cursor is the index of the last action examined, in the schema's order.
      const first = p.after === undefined ? 0 : Number(p.after) + 1;
      const { results, next } = fillPage(
        e.policySet.schema.actions.slice(first).map((name, i) => ({ name, at: first + i })),
        ({ name }) => e.authorize(toRequest(body.subject, { name }, body.resource, body.context)).allowed,
        p.limit,
      );
      return p.answer(
        results.map(({ name }) => ({ name })),
        next && String(next.at),
      );
    },
  };
}

/** Results of a page when the search does not say, and candidates a page may decide a result (as the sidecar). */
const DEFAULT_PAGE_SIZE = 1000;
const SCAN_FACTOR = 10;

/**
 * Up to `limit` accepted candidates, examined in order, at most SCAN_FACTOR × limit of them; `next` is the
 * last one examined when candidates remain after it.
 */
function fillPage<C>(
  candidates: C[],
  allowed: (c: C) => boolean,
  limit: number,
): { results: C[]; next: C | undefined } {
  const budget = limit * SCAN_FACTOR;
  const results: C[] = [];
  let examined = 0;
  let last: C | undefined;
  for (const candidate of candidates) {
    if (results.length === limit || examined === budget) return { results, next: last };
    examined++;
    last = candidate;
    if (allowed(candidate)) results.push(candidate);
  }
  return { results, next: undefined };
}

/** The first `limit` accepted candidates; `next` is the last of them when another one is accepted. */
function firstMatches<C>(
  candidates: C[],
  allowed: (c: C) => boolean,
  limit: number,
): { results: C[]; next: C | undefined } {
  const found: C[] = [];
  for (const candidate of candidates) {
    if (allowed(candidate)) found.push(candidate);
    if (found.length > limit) break;
  }
  return found.length > limit
    ? { results: found.slice(0, limit), next: found[limit - 1] }
    : { results: found, next: undefined };
}

/**
 * Where a search's page starts, how many results it holds, and its answer. A token names the search it
 * belongs to and where the last page stopped; in process there is no one to hide the cursor from, so it
 * is not encrypted, but a token of another search, or not one at all, is refused as the sidecar refuses it.
 */
function pageOf(kind: string, body: { page?: AzPage | undefined }) {
  const { page, ...query } = body;
  const search = `${kind}:${stableJson(query)}`;
  let after: string | undefined;
  if (page?.token) {
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(page.token, 'base64url').toString('utf8'));
    } catch {
      // not a token
    }
    if (!Array.isArray(decoded) || decoded[0] !== search || typeof decoded[1] !== 'string')
      throw new Rejected(
        'invalid_request',
        'page.token is not a token this PDP issued for this search (tokens do not survive a restart)',
        'page.token',
        400,
      );
    after = decoded[1];
  }
  return {
    after,
    limit: page?.limit ?? DEFAULT_PAGE_SIZE,
    answer: <T>(results: T[], next: string | undefined) => ({
      results,
      page: { next_token: next === undefined ? '' : Buffer.from(JSON.stringify([search, next])).toString('base64url') },
    }),
  };
}

/** JSON with object keys sorted, so the same search written in another key order has the same token. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}
