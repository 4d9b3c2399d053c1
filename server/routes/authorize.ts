// POST /v1/authorize and /v1/authorize/batch: the decision API's wire format, translated to
// and from the decision service (decide/decision-service.ts), which resolves a principal given by its key
// (`{ "credential": "…" }`), decides and logs.
import type { FastifyPluginCallback } from 'fastify';
import { HttpAuthorizeRequest } from '../../api/authorize.js';
import { DecisionSchema } from '../../engine/index.js';
import { bodyRoute, bodySchema, jsonSchema } from '../body/body-schema.js';
import type { DecisionService } from '../decide/decision-service.js';
import { decisionJson } from '../decision-json.js';
import type { Metrics } from '../plugins/metrics.js';

export interface AuthorizeRoutesOptions {
  decisions: DecisionService;
  metrics: Metrics;
}

const singleBody = bodySchema(HttpAuthorizeRequest);

export const authorizeRoutes: FastifyPluginCallback<AuthorizeRoutesOptions> = (app, { decisions, metrics }, done) => {
  const singleLatency = metrics.latency.timer('authorize');
  const batchLatency = metrics.latency.timer('batch');

  const single = bodyRoute(singleBody);
  app.post<{ Body: HttpAuthorizeRequest }>(
    '/v1/authorize',
    {
      ...single,
      schema: { ...single.schema, response: { 200: jsonSchema(DecisionSchema, 'output') } },
      serializerCompiler: () => decisionJson as (data: unknown) => string,
    },
    (request) => {
      const started = singleLatency.start();
      const decision = decisions.authorize(request.body);
      singleLatency.end(started);
      return decision;
    },
  );

  // The batch route takes its body as text: the service parses and decides it on a decision thread when
  // one is free, else on this one, the same way.
  app.register((scope, _options, registered) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, parsed) =>
      parsed(null, text),
    );
    scope.post('/v1/authorize/batch', { config: { body: decisions.batchBody } }, async (request, reply) => {
      const started = batchLatency.start();
      const json = await decisions.authorizeBatch(request.body as string);
      batchLatency.end(started);
      return reply.type('application/json; charset=utf-8').send(json);
    });
    registered();
  });
  done();
};
