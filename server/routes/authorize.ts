// POST /v1/authorize and /v1/authorize/batch (DESIGN.md §2). A principal is given inline or by its key
// (`{ "credential": "…" }`); a key always stands for the principal the key store says, with the store's
// attributes, whatever else the caller sends.
import type { FastifyInstance } from 'fastify';
import { DecisionSchema, type AuthorizeRequest, type Decision, type Engine } from '../../engine/index.js';
import { rejectUnknownNames } from '../known-names.js';
import { recordDecision } from '../record-decision.js';
import type { AppDeps } from '../app.js';
import { keyIdOf, type KeyStore } from '../store/key-store.js';
import { BatchRequest, BatchResponse, HttpAuthorizeRequest, jsonSchema } from '../schemas.js';

export const INVALID_CREDENTIAL = 'the credential is not valid';

/** The request's names checked against the schema; `prefix` locates the request in a batch. */
function rejectUnknown(engine: Engine, req: AuthorizeRequest, prefix: string): void {
  rejectUnknownNames(
    engine,
    { principalType: req.principal.type, action: req.action, resourceType: req.resource.type },
    { principalType: `${prefix}principal.type`, action: `${prefix}action`, resourceType: `${prefix}resource.type` },
  );
}

/**
 * The request with its principal resolved, or, for a bad key, the request as it will be logged (the key
 * id in place of the key, never the secret) and no principal.
 */
export function resolveRequest(keys: KeyStore, req: HttpAuthorizeRequest): { request: AuthorizeRequest; resolved: boolean } {
  if (!('credential' in req.principal)) return { request: req as AuthorizeRequest, resolved: true };
  const principal = keys.resolve(req.principal.credential);
  if (principal) return { request: { ...req, principal }, resolved: true };
  return { request: { ...req, principal: { type: 'credential', id: keyIdOf(req.principal.credential) ?? '-' } }, resolved: false };
}

export function authorizeRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { policies, metrics, keys } = deps;

  const record = (req: AuthorizeRequest, decision: Decision, latencyUs: number) => recordDecision(deps, req, decision, latencyUs);
  // Label children resolved once: observing through them does not hash the labels on every request.
  const singleLatency = metrics.latency.labels('authorize');
  const batchLatency = metrics.latency.labels('batch');

  const decideOne = (engine: Engine, req: HttpAuthorizeRequest, prefix: string): [AuthorizeRequest, Decision | undefined] => {
    const { request, resolved } = resolveRequest(keys, req);
    if (!resolved) return [request, engine.reject(INVALID_CREDENTIAL, { code: 'invalid-credential', message: INVALID_CREDENTIAL })];
    rejectUnknown(engine, request, prefix);
    return [request, undefined];
  };

  app.post<{ Body: HttpAuthorizeRequest }>(
    '/v1/authorize',
    { schema: { body: jsonSchema(HttpAuthorizeRequest), response: { 200: jsonSchema(DecisionSchema, 'output') } }, config: { zod: HttpAuthorizeRequest } },
    (request) => {
      const end = singleLatency.startTimer();
      const engine = policies.serving();
      const t0 = performance.now();
      const [req, rejected] = decideOne(engine, request.body, '');
      const decision = rejected ?? engine.authorize(req);
      record(req, decision, (performance.now() - t0) * 1000);
      end();
      return decision;
    },
  );

  const batch = BatchRequest(deps.config.batchLimit);
  app.post<{ Body: { requests: HttpAuthorizeRequest[] } }>(
    '/v1/authorize/batch',
    { schema: { body: jsonSchema(batch), response: { 200: jsonSchema(BatchResponse, 'output') } }, config: { zod: batch } },
    (request) => {
      const end = batchLatency.startTimer();
      const engine = policies.serving(); // one engine for the whole batch: one revision
      const items = request.body.requests;
      const prepared = items.map((item, i) => decideOne(engine, item, `requests.${i}.`));
      // Latency is measured for the whole batch and logged per decision as its share.
      const t0 = performance.now();
      const results = prepared.map(([req, rejected]) => rejected ?? engine.authorize(req));
      const share = ((performance.now() - t0) * 1000) / items.length;
      for (let i = 0; i < items.length; i++) record(prepared[i]![0], results[i]!, share);
      end();
      return { results };
    },
  );
}
