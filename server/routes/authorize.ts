// POST /v1/authorize and /v1/authorize/batch (DESIGN.md §2). A principal is given inline or by its key
// (`{ "credential": "…" }`), see prepare-request.ts.
import type { FastifyInstance } from 'fastify';
import { DecisionSchema, type Engine } from '../../engine/index.js';
import { decideBatch, type DecidedBatch } from '../batch/decide-batch.js';
import { compileBodyValidator } from '../batch/json-body.js';
import { decisionJson } from '../decision-json.js';
import { BadCredential, prepare, RefusedWithCredential } from '../prepare-request.js';
import { recordBatch, recordDecision } from '../record-decision.js';
import type { AppDeps } from '../app.js';
import { BatchRequest, HttpAuthorizeRequest, jsonSchema } from '../schemas.js';

export function authorizeRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { policies, metrics, keys, pool } = deps;
  const singleLatency = metrics.latency.timer('authorize');
  const batchLatency = metrics.latency.timer('batch');
  /** A 400 for a request that presented a key is in the decision log, like any attempt with a key. */
  const recordRefusal = (e: unknown, started: number) => {
    if (e instanceof RefusedWithCredential)
      recordDecision(deps, e.request, e.decision, (performance.now() - started) * 1000);
  };
  const prepareSingle = (engine: Engine, body: HttpAuthorizeRequest, started: number) => {
    try {
      return prepare(engine, keys, body, undefined);
    } catch (e) {
      recordRefusal(e, started);
      throw e;
    }
  };

  app.post<{ Body: HttpAuthorizeRequest }>(
    '/v1/authorize',
    {
      schema: { body: jsonSchema(HttpAuthorizeRequest), response: { 200: jsonSchema(DecisionSchema, 'output') } },
      serializerCompiler: () => decisionJson as (data: unknown) => string,
      config: { zod: HttpAuthorizeRequest },
    },
    (request) => {
      const started = singleLatency.start(); // also the decision's start: one clock read fewer
      const engine = policies.serving();
      const prepared = prepareSingle(engine, request.body, started);
      const bad = prepared instanceof BadCredential;
      const decision = bad ? prepared.decision : engine.authorize(prepared);
      recordDecision(deps, bad ? prepared.request : prepared, decision, (performance.now() - started) * 1000);
      singleLatency.end(started);
      return decision;
    },
  );

  // The batch route takes its body as text: a decision thread parses and decides it when one is free
  // (batch/decision-pool.ts), else this thread does, the same way (batch/decide-batch.ts).
  const schema = BatchRequest(deps.config.batchLimit);
  const validate = compileBodyValidator(jsonSchema(schema));
  app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => done(null, text));
    scope.post('/v1/authorize/batch', { config: { zod: schema } }, async (request, reply) => {
      const started = batchLatency.start();
      const engine = policies.serving(); // one engine for the whole batch: one revision
      const text = request.body as string;
      const pooled = pool?.run(text, engine.revision);
      let decided: DecidedBatch;
      try {
        decided =
          (pooled && (await pooled)) ??
          decideBatch(text, {
            engine,
            validate,
            schema,
            keys,
            clock: deps.clock,
            logRequests: deps.config.logRequests,
          });
      } catch (e) {
        recordRefusal(e, started);
        throw e;
      }
      recordBatch(deps, decided.log);
      batchLatency.end(started);
      return reply.type('application/json; charset=utf-8').send(decided.json);
    });
  });
}
