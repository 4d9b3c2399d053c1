// Shadow evaluation's admin routes (admin bearer token, like every /v1/admin route): the summary of what
// the candidate decides otherwise, and choosing or stopping the candidate.
import type { FastifyPluginCallback } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { HttpError } from '../errors.js';
import { requestLog } from '../log.js';
import { requireAdmin } from '../plugins/admin-auth.js';
import { bodyRoute, bodySchema } from '../body/body-schema.js';
import { parseSince, SINCE_HELP } from '../shadow/since.js';

export const ShadowCandidateRequest = z.strictObject({
  policies: z.string().min(1).describe('the candidate policy directory, as the sidecar sees it'),
});

const MAX_EXAMPLES = 100;

export const shadowRoutes: FastifyPluginCallback<AppDeps> = (app, deps, done) => {
  const { shadow } = deps;
  if (!shadow) return done();
  const onRequest = requireAdmin(deps.config.adminToken);

  app.get<{ Querystring: { since?: string; examples?: string } }>(
    '/v1/admin/shadow',
    { onRequest },
    async (request) => {
      const { since, examples } = request.query;
      const from = since === undefined ? undefined : parseSince(since, deps.clock());
      if (since !== undefined && from === undefined)
        throw new HttpError('invalid_request', `since: ${SINCE_HELP}`, 'since');
      const count = examples === undefined ? 3 : Number(examples);
      if (!Number.isInteger(count) || count < 0 || count > MAX_EXAMPLES)
        throw new HttpError('invalid_request', `examples: an integer from 0 to ${MAX_EXAMPLES}`, 'examples');
      await shadow.drain(); // every decision made before this request is in the summary
      const summary = await shadow.store.summarize({ ...(from === undefined ? {} : { since: from }), examples: count });
      return {
        candidate: shadow.status ?? null,
        recording: {
          compared: shadow.compared,
          notCompared: shadow.skipped,
          written: shadow.store.stats.written,
          notWritten: shadow.store.stats.dropped,
        },
        ...summary,
      };
    },
  );

  app.put<{ Body: z.infer<typeof ShadowCandidateRequest> }>(
    '/v1/admin/shadow',
    { onRequest, ...bodyRoute(bodySchema(ShadowCandidateRequest)) },
    async (request, reply) => {
      const status = shadow.use(request.body.policies);
      const log = requestLog(deps.log, request);
      if (status.ok) log.info({ policies: request.body.policies, revision: status.revision }, 'shadow candidate set');
      else log.warn({ policies: request.body.policies, errors: status.errors }, 'shadow candidate refused');
      return reply.code(status.ok ? 200 : 422).send({ ...status, policies: request.body.policies });
    },
  );

  app.delete('/v1/admin/shadow', { onRequest }, async (request, reply) => {
    shadow.stop();
    requestLog(deps.log, request).info({}, 'shadow evaluation stopped');
    return reply.code(204).send();
  });
  done();
};
