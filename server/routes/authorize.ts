// POST /v1/authorize and /v1/authorize/batch (DESIGN.md §2).
import type { FastifyInstance } from 'fastify';
import { unknownNames } from '../../engine/decide/authorize.js';
import { AuthorizeRequestSchema, DecisionSchema, type AuthorizeRequest, type Decision, type Engine } from '../../engine/index.js';
import { HttpError, type ErrorCode } from '../errors.js';
import type { AppDeps } from '../app.js';
import { BatchRequest, BatchResponse, jsonSchema } from '../schemas.js';

const UNKNOWN: Record<string, [ErrorCode, string]> = {
  'unknown-principal-type': ['unknown_principal_type', 'principal.type'],
  'unknown-action': ['unknown_action', 'action'],
  'unknown-resource-type': ['unknown_resource_type', 'resource.type'],
};

/** A request naming a type or action the schema does not declare is a client error, not a decision. */
function rejectUnknown(engine: Engine, req: AuthorizeRequest, prefix: string): void {
  if (
    engine.policySet.schema.principals.has(req.principal.type) &&
    engine.policySet.schema.resources.has(req.resource.type) &&
    engine.policySet.schema.actions.includes(req.action)
  ) return;
  const [first] = unknownNames(engine.policySet, req);
  const [code, path] = UNKNOWN[first!.code]!;
  throw new HttpError(code, first!.message, prefix + path);
}

export function authorizeRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { policies, decisionLog, metrics } = deps;

  const engineOrThrow = (): Engine => {
    const engine = policies.engine;
    if (!engine) throw new HttpError('not_ready', 'no policy set is loaded');
    return engine;
  };

  const record = (req: AuthorizeRequest, decision: Decision, latencyUs: number): void => {
    decisionLog.append(decision, req, latencyUs);
    metrics.countDecision(req.principal.type, decision.allowed);
  };

  app.post<{ Body: AuthorizeRequest }>(
    '/v1/authorize',
    { schema: { body: jsonSchema(AuthorizeRequestSchema), response: { 200: jsonSchema(DecisionSchema, 'output') } }, config: { zod: AuthorizeRequestSchema } },
    (request) => {
      const end = metrics.latency.startTimer({ route: 'authorize' });
      const engine = engineOrThrow();
      rejectUnknown(engine, request.body, '');
      const t0 = performance.now();
      const decision = engine.authorize(request.body);
      record(request.body, decision, (performance.now() - t0) * 1000);
      end();
      return decision;
    },
  );

  const batch = BatchRequest(deps.config.batchLimit);
  app.post<{ Body: { requests: AuthorizeRequest[] } }>(
    '/v1/authorize/batch',
    { schema: { body: jsonSchema(batch), response: { 200: jsonSchema(BatchResponse, 'output') } }, config: { zod: batch } },
    (request) => {
      const end = metrics.latency.startTimer({ route: 'batch' });
      const engine = engineOrThrow(); // one engine for the whole batch: one revision
      const requests = request.body.requests;
      for (let i = 0; i < requests.length; i++) rejectUnknown(engine, requests[i]!, `requests.${i}.`);
      // Latency is measured for the whole batch and logged per decision as its share.
      const t0 = performance.now();
      const results = engine.authorizeBatch(requests);
      const share = ((performance.now() - t0) * 1000) / requests.length;
      for (let i = 0; i < requests.length; i++) record(requests[i]!, results[i]!, share);
      end();
      return { results };
    },
  );
}
