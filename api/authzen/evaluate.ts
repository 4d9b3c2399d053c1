// The AuthZEN semantics both deciders share, the sidecar's routes (server/routes/authzen.ts) and the
// embedded client (client/embedded-authzen.ts): entity completion, evaluations with defaults and their
// semantic, bounded search pages, the action search and the decision context. Data in, data out: the
// entity store, the decision (and its logging) and the page tokens are passed in, so no edge is imported.
import type { AuthorizeRequest, Decision, Engine, Entity } from '../../engine/index.js';
import { describeInvalid } from '../authorize.js';
import {
  AzEvaluation,
  AzEvaluations,
  type AzAction,
  type AzActionSearch,
  type AzDecision,
  type AzEntity,
  type AzPage,
} from '../authzen.js';

/** Results of a page when the search does not say (`page.limit`). */
export const DEFAULT_PAGE_SIZE = 1000;
/** Candidates a page may examine for each result it may hold. */
export const SCAN_FACTOR = 10;
/** Items of one evaluations request when the decider has no setting (the sidecar's --batch-limit default). */
export const DEFAULT_BATCH_LIMIT = 1000;

/** How page tokens are made: a digest names the search, a token carries where its last page stopped. */
export interface PageTokenCodec {
  digest(kind: string, query: unknown): string;
  issue(digest: string, cursor: string): string;
  /** The cursor in `token`; throws the decider's own 400 when it is not a token of this search. */
  read(token: string, digest: string): string;
}

export interface AuthzenDeps {
  /** A stored entity's attributes, or undefined when the store does not know it. */
  attributes(type: string, id: string): Record<string, unknown> | undefined;
  /**
   * Decides (and, where there is a log, logs) the request `ask` builds; `ask` completes its entities
   * through `attributes`, so a decider that times its decisions times the completion with them.
   */
  decide(engine: Engine, ask: () => AuthorizeRequest): Decision;
  tokens: PageTokenCodec;
  /** Most items of one evaluations request (default DEFAULT_BATCH_LIMIT). */
  batchLimit?: number | undefined;
  /** Whether a batch item, defaults applied, is a valid evaluation (default: AzEvaluation's zod check). */
  isEvaluation?: ((value: unknown) => boolean) | undefined;
}

type Searched = { type: string; properties?: Record<string, unknown> | undefined };
type Page = { page?: AzPage | undefined };

export function authzenSemantics(deps: AuthzenDeps) {
  const isEvaluation = deps.isEvaluation ?? ((v: unknown) => AzEvaluation.safeParse(v).success);

  /**
   * A stored entity is complete: every attribute comes from the store, absent ones take the schema's
   * default or stay absent, and the request's properties for it are ignored. A PEP cannot add a role or a
   * support grant the PDP does not record; only an entity the store does not know is described by the request.
   */
  const complete = (e: { type: string; id: string; properties?: Record<string, unknown> | undefined }): Entity => ({
    type: e.type,
    id: e.id,
    attributes: deps.attributes(e.type, e.id) ?? e.properties ?? {},
  });

  /** Action properties join the context; the context's own keys win. */
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

  const evaluate = (e: Engine, body: AzEvaluation): AzDecision => {
    const d = deps.decide(e, () => toRequest(body.subject, body.action, body.resource, body.context));
    return { decision: d.allowed, context: decisionContext(d) };
  };

  /**
   * The items of an evaluations request (at least one), each with the defaults applied: an item's own
   * subject, action, resource or context replaces the default wholesale. An invalid item is a deny with
   * its 400, not a refusal of the request; the semantic may stop at the first deny or permit.
   */
  const evaluateItems = (e: Engine, body: AzEvaluations): AzDecision[] => {
    const semantic = body.options?.evaluations_semantic ?? 'execute_all';
    const withContext = body.options?.include_context === true;
    const results: AzDecision[] = [];
    for (const raw of body.evaluations ?? []) {
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
      let allowed = false;
      if (!isEvaluation(merged)) {
        const { message, path } = describeInvalid(AzEvaluation, merged);
        results.push({ decision: false, context: { error: { status: 400, message, ...(path ? { path } : {}) } } });
      } else {
        // Valid as it is: toRequest reads only the fields the schema names, so unknown ones are ignored.
        const d = evaluate(e, merged as AzEvaluation);
        results.push(withContext ? d : { decision: d.decision });
        allowed = d.decision;
      }
      if ((semantic === 'deny_on_first_deny' && !allowed) || (semantic === 'permit_on_first_permit' && allowed)) break;
    }
    return results;
  };

  /** Where a search's page starts and how many results it holds; `answer` makes its response. */
  const pageOf = (kind: string, body: Page) => {
    const { page, ...query } = body;
    const digest = deps.tokens.digest(kind, query);
    return {
      after: page?.token ? deps.tokens.read(page.token, digest) : undefined,
      limit: page?.limit ?? DEFAULT_PAGE_SIZE,
      answer: <T>(results: T[], next: string | undefined) => ({
        results,
        page: { next_token: next === undefined ? '' : deps.tokens.issue(digest, next) },
      }),
    };
  };

  /** The decision `ask` builds for a candidate id of the searched type (the search's properties joined). */
  const candidate = (searched: Searched, id: string): AzEntity => ({
    type: searched.type,
    id,
    ...(searched.properties ? { properties: searched.properties } : {}),
  });

  return {
    complete,
    toRequest,
    evaluate,
    evaluateItems,
    pageOf,
    /** The evaluations body's schema, with this decider's cap on items. */
    evaluationsBody: AzEvaluations(deps.batchLimit ?? DEFAULT_BATCH_LIMIT),

    /**
     * One page of the stored entities of a type for which `ask(entity)` is allowed, decided one by one in
     * store order (`ids(after, chunk)` lists them after `after`, `chunk` at a time). Every candidate is a
     * stored entity, so the search's own properties do not change its attributes (see `complete`).
     */
    async allowedPage(
      e: Engine,
      kind: string,
      body: Page,
      searched: Searched,
      ids: (after: string | undefined, chunk: number) => Promise<string[]> | string[],
      ask: (candidate: AzEntity) => AuthorizeRequest,
    ) {
      const p = pageOf(kind, body);
      const { results, next } = await fillPageFrom(
        storeOrder(ids, p.after, p.limit + 1),
        (id) => deps.decide(e, () => ask(candidate(searched, id))).allowed,
        p.limit,
      );
      return p.answer(
        results.map((id) => ({ type: searched.type, id })),
        next,
      );
    },

    /**
     * One page of ids a selection answers exactly (the sidecar's query plan in SQL): `select(after, count)`
     * gives the first `count` matches after `after`, so the page is the first `limit` and one more says
     * there is a next page.
     */
    async selectedPage(
      kind: string,
      body: Page,
      type: string,
      select: (after: string | undefined, count: number) => Promise<string[]> | string[],
    ) {
      const p = pageOf(kind, body);
      const ids = await select(p.after, p.limit + 1);
      return p.answer(
        ids.slice(0, p.limit).map((id) => ({ type, id })),
        ids.length > p.limit ? ids[p.limit - 1] : undefined,
      );
    },

    /** The actions of the schema allowed for the search's subject and resource, in its order; the cursor is the index of the last one examined. */
    actionPage(e: Engine, body: AzActionSearch) {
      const p = pageOf('action', body);
      const first = p.after === undefined ? 0 : Number(p.after) + 1;
      const { results, next } = fillPage(
        e.policySet.schema.actions.slice(first).map((name, i) => ({ name, at: first + i })),
        ({ name }) => deps.decide(e, () => toRequest(body.subject, { name }, body.resource, body.context)).allowed,
        p.limit,
      );
      return p.answer(
        results.map(({ name }) => ({ name })),
        next && String(next.at),
      );
    },
  };
}

export type AuthzenSemantics = ReturnType<typeof authzenSemantics>;

/** A decision's context in AuthZEN answers: its id, revision, matched rules, and why when it says. */
export function decisionContext(d: Decision) {
  return {
    decision_id: d.decisionId,
    policy_revision: d.policyRevision,
    matched: d.matched,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.errors ? { errors: d.errors } : {}),
  };
}

/** The ids `ids` lists after `after`, read `chunk` at a time until a short read. */
async function* storeOrder(
  ids: (after: string | undefined, chunk: number) => Promise<string[]> | string[],
  after: string | undefined,
  chunk: number,
): AsyncGenerator<string> {
  for (let cursor = after; ; ) {
    const read = await ids(cursor, chunk);
    yield* read;
    if (read.length < chunk) return;
    cursor = read[read.length - 1];
  }
}

/**
 * Up to `limit` candidates that `allowed` accepts, examined in order, at most SCAN_FACTOR × limit of
 * them; `next` is the last one examined when candidates remain after it (the next page starts there).
 * A page may hold fewer than `limit` results, even none, and still have a next page.
 */
export function fillPage<C>(
  candidates: Iterable<C>,
  allowed: (candidate: C) => boolean,
  limit: number,
): { results: C[]; next: C | undefined } {
  const budget = limit * SCAN_FACTOR;
  const results: C[] = [];
  let examined = 0;
  let last: C | undefined;
  for (const candidate of candidates) {
    // One candidate beyond the page: it exists, so there is a next page.
    if (results.length === limit || examined === budget) return { results, next: last };
    examined++;
    last = candidate;
    if (allowed(candidate)) results.push(candidate);
  }
  return { results, next: undefined };
}

/** `fillPage` over candidates read from a store as they are needed. */
export async function fillPageFrom<C>(
  candidates: AsyncIterable<C>,
  allowed: (candidate: C) => boolean,
  limit: number,
): Promise<{ results: C[]; next: C | undefined }> {
  const budget = limit * SCAN_FACTOR;
  const results: C[] = [];
  let examined = 0;
  let last: C | undefined;
  for await (const candidate of candidates) {
    if (results.length === limit || examined === budget) return { results, next: last };
    examined++;
    last = candidate;
    if (allowed(candidate)) results.push(candidate);
  }
  return { results, next: undefined };
}
