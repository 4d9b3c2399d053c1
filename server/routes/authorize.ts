// POST /v1/authorize and /v1/authorize/batch (DESIGN.md §2). A principal is given inline or by its key
// (`{ "credential": "…" }`); a key always stands for the principal the key store says, with the store's
// attributes, whatever else the caller sends.
import type { FastifyInstance } from 'fastify';
import { DecisionSchema, type AuthorizeRequest, type Decision, type Engine } from '../../engine/index.js';
import { batchJson, decisionJson } from '../decision-json.js';
import { knownNames, unknownNameError } from '../known-names.js';
import { recordDecision } from '../record-decision.js';
import type { AppDeps } from '../app.js';
import { keyIdOf, type KeyStore } from '../store/key-store.js';
import { BatchRequest, BatchResponse, HttpAuthorizeRequest, jsonSchema } from '../schemas.js';

export const INVALID_CREDENTIAL = 'the credential is not valid';

/** A request whose key resolved to nothing: what to log (the key id, never the secret) and the deny. */
class BadCredential {
  constructor(readonly request: AuthorizeRequest, readonly decision: Decision) {}
}

/**
 * The request to decide: as sent when the principal is inline (nothing allocated: the hot path), with
 * the principal from the key store when given by a key. Names the schema does not declare are a 400;
 * `index` locates the request in a batch.
 */
function prepare(engine: Engine, keys: KeyStore, item: HttpAuthorizeRequest, index: number | undefined): AuthorizeRequest | BadCredential {
  let req: AuthorizeRequest;
  if ('credential' in item.principal) {
    const principal = keys.resolve(item.principal.credential);
    if (!principal) {
      const logged = { ...item, principal: { type: 'credential', id: keyIdOf(item.principal.credential) ?? '-' } };
      return new BadCredential(logged, engine.reject(INVALID_CREDENTIAL, { code: 'invalid-credential', message: INVALID_CREDENTIAL }));
    }
    req = { ...item, principal };
  } else {
    req = item as AuthorizeRequest;
  }
  if (!knownNames(engine, req.principal.type, req.action, req.resource.type)) {
    const at = index === undefined ? '' : `requests.${index}.`;
    const names = { principalType: req.principal.type, action: req.action, resourceType: req.resource.type };
    throw unknownNameError(engine, names, { principalType: `${at}principal.type`, action: `${at}action`, resourceType: `${at}resource.type` });
  }
  return req;
}

export function authorizeRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { policies, metrics, keys } = deps;

  const record = (req: AuthorizeRequest, decision: Decision, latencyUs: number) => recordDecision(deps, req, decision, latencyUs);
  // Label children resolved once: observing through them does not hash the labels on every request.
  const singleLatency = metrics.latency.labels('authorize');
  const batchLatency = metrics.latency.labels('batch');

  app.post<{ Body: HttpAuthorizeRequest }>(
    '/v1/authorize',
    {
      schema: { body: jsonSchema(HttpAuthorizeRequest), response: { 200: jsonSchema(DecisionSchema, 'output') } },
      serializerCompiler: () => decisionJson as (data: unknown) => string,
      config: { zod: HttpAuthorizeRequest },
    },
    (request) => {
      const end = singleLatency.startTimer();
      const engine = policies.serving();
      const t0 = performance.now();
      const prepared = prepare(engine, keys, request.body, undefined);
      const bad = prepared instanceof BadCredential;
      const decision = bad ? prepared.decision : engine.authorize(prepared);
      record(bad ? prepared.request : prepared, decision, (performance.now() - t0) * 1000);
      end();
      return decision;
    },
  );

  const batch = BatchRequest(deps.config.batchLimit);
  app.post<{ Body: { requests: HttpAuthorizeRequest[] } }>(
    '/v1/authorize/batch',
    {
      schema: { body: jsonSchema(batch), response: { 200: jsonSchema(BatchResponse, 'output') } },
      serializerCompiler: () => batchJson as (data: unknown) => string,
      config: { zod: batch },
    },
    (request) => {
      const end = batchLatency.startTimer();
      const engine = policies.serving(); // one engine for the whole batch: one revision
      const items = request.body.requests;
      const prepared = items.map((item, i) => prepare(engine, keys, item, i)); // every 400 before any decision
      // Latency is measured for the whole batch and logged per decision as its share.
      const t0 = performance.now();
      const results = prepared.map((p) => (p instanceof BadCredential ? p.decision : engine.authorize(p)));
      const share = ((performance.now() - t0) * 1000) / items.length;
      for (let i = 0; i < items.length; i++) {
        const p = prepared[i]!;
        record(p instanceof BadCredential ? p.request : p, results[i]!, share);
      }
      end();
      return { results };
    },
  );
}
