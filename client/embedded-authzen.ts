// The AuthZEN calls decided in process, with the sidecar's own semantics (api/authzen/evaluate.ts): an
// entity the pack's entities.yaml knows is taken from it as it is (the caller's properties describe only
// unknown ones), action properties join the context, the batch semantics and cap, searches in pages. The
// same tests, upstream case files included, run against both (test/client/authzen.test.ts).
import { describeInvalid } from '../api/authorize.js';
import {
  AzActionSearch,
  AzEvaluation,
  AzResourceSearch,
  AzSubjectSearch,
  type AzActionSearchResponse,
  type AzDecision,
  type AzEntitySearchResponse,
  type AzEvaluationsResponse,
} from '../api/authzen.js';
import { authzenSemantics, type PageTokenCodec } from '../api/authzen/evaluate.js';
import { planQuery, type Engine } from '../engine/index.js';
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
  const { message, path, tooBig } = describeInvalid(schema, body);
  throw new Rejected(tooBig ? 'batch_too_large' : 'invalid_request', message, path, 400);
}

export interface EmbeddedAuthzenOptions {
  /** Most items of one evaluations request, as the sidecar's --batch-limit (default 1000). */
  batchLimit?: number | undefined;
}

export function embeddedAuthzen(
  engine: () => Engine,
  entities: () => EntityIndex,
  options: EmbeddedAuthzenOptions = {},
) {
  const az = authzenSemantics({
    attributes: (type, id) => entities().get(type)?.get(id),
    decide: (e, ask) => e.authorize(ask()),
    tokens: inProcessTokens,
    batchLimit: options.batchLimit,
  });
  /** The ids of the pack's entities of `type` after `after`, `count` of them at most, in id order. */
  const idsAfter = (type: string, after: string | undefined, count: number): string[] => {
    const ids = [...(entities().get(type)?.keys() ?? [])];
    const start = after === undefined ? 0 : ids.findIndex((id) => id > after);
    return start < 0 ? [] : ids.slice(start, start + count);
  };

  return {
    evaluation: async (body: unknown): Promise<AzDecision> => az.evaluate(engine(), parsed(AzEvaluation, body)),

    async evaluations(raw: unknown): Promise<AzEvaluationsResponse> {
      const body = parsed(az.evaluationsBody, raw);
      const e = engine();
      if ((body.evaluations ?? []).length === 0) return { evaluations: [az.evaluate(e, parsed(AzEvaluation, body))] };
      return { evaluations: az.evaluateItems(e, body) };
    },

    async subjectSearch(raw: unknown): Promise<AzEntitySearchResponse> {
      const body = parsed(AzSubjectSearch, raw);
      return az.allowedPage(
        engine(),
        'subject',
        body,
        body.subject,
        (after, count) => idsAfter(body.subject.type, after, count),
        (subject) => az.toRequest(subject, body.action, body.resource, body.context),
      );
    },

    async resourceSearch(raw: unknown): Promise<AzEntitySearchResponse> {
      const body = parsed(AzResourceSearch, raw);
      const e = engine();
      const ask = (resource: { type: string; id: string; properties?: Record<string, unknown> | undefined }) =>
        az.toRequest(body.subject, body.action, resource, body.context);
      // Without properties the sidecar answers from a query plan in SQL when the plan is exact: the first
      // matches, however far apart. Deciding each candidate gives the same rows (plan parity).
      const exact =
        !body.resource.properties &&
        !planQuery(
          e.policySet,
          {
            principal: az.complete(body.subject),
            action: body.action.name,
            resourceType: body.resource.type,
            context: { ...body.action.properties, ...body.context },
          },
          Date.now(),
        ).partial;
      if (!exact)
        return az.allowedPage(
          e,
          'resource',
          body,
          body.resource,
          (after, count) => idsAfter(body.resource.type, after, count),
          ask,
        );
      const type = body.resource.type;
      return az.selectedPage('resource', body, type, (after, count) => {
        const found: string[] = [];
        for (const id of idsAfter(type, after, Number.MAX_SAFE_INTEGER)) {
          if (found.length === count) break;
          if (e.authorize(ask({ type, id })).allowed) found.push(id);
        }
        return found;
      });
    },

    async actionSearch(raw: unknown): Promise<AzActionSearchResponse> {
      return az.actionPage(engine(), parsed(AzActionSearch, raw));
    },
  };
}

/**
 * Page tokens in process: a token names the search it belongs to and where the last page stopped. There
 * is no one to hide the cursor from, so it is not encrypted, but a token of another search, or not one at
 * all, is refused as the sidecar refuses it.
 */
const inProcessTokens: PageTokenCodec = {
  digest: (kind, query) => `${kind}:${stableJson(query)}`,
  issue: (search, cursor) => Buffer.from(JSON.stringify([search, cursor])).toString('base64url'),
  read(token, search) {
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
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
    return decoded[1];
  },
};

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
