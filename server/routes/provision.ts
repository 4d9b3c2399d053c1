// POST /v1/provision: a provisioning key registers a new device and receives the device's key, once.
// The policy decides `register` on the key's fleet with the key's attributes from the store and the
// client's address; the decision, the device, its key and the key's new count are one transaction.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app.js';
import { HttpError } from '../errors.js';
import { jsonSchema, ProvisionRequest } from '../schemas.js';
import { keyIdOf } from '../store/key-store.js';
import { recordDecision } from '../record-decision.js';
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import type { z } from 'zod';
import { requestLog } from '../log.js';

type Body = z.infer<typeof ProvisionRequest>;

const DENIED = 'provisioning was denied';

export function provisionRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { keys, policies, metrics, clock } = deps;
  const perMinute = deps.config.provisionRateLimit;

  app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (request, context) => {
      metrics.provisionAttempts.inc({ outcome: 'rate_limited' });
      requestLog(deps.log, request).warn({ ip: request.ip, limit: context.max }, 'provisioning rate limit reached');
      return new HttpError(
        'rate_limited',
        `too many provisioning attempts: at most ${context.max} a minute per key and per client address`,
      );
    },
  });

  app.register(async (scope) => {
    const limit = (name: string, key: (request: FastifyRequest) => string) =>
      scope.rateLimit({ max: perMinute, timeWindow: 60_000, keyGenerator: (request) => `${name}:${key(request)}` });
    const keyOf = (request: FastifyRequest) =>
      keyIdOf((request.body as Partial<Body> | undefined)?.provisioningKey ?? '') ?? 'malformed';

    scope.post<{ Body: Body }>(
      '/v1/provision',
      {
        schema: { body: jsonSchema(ProvisionRequest) },
        config: { zod: ProvisionRequest },
        preHandler: [limit('address', (request) => request.ip), limit('key', keyOf)],
      },
      async (request, reply) => {
        const engine = policies.serving();
        const { provisioningKey, deviceId, metadata } = request.body;
        const t0 = performance.now();
        const context = { time: new Date(clock()).toISOString(), ip: request.ip };
        const keyId = keyIdOf(provisioningKey);

        /** Every denial answers the same, whatever the reason, and is logged and counted. */
        const denied = (outcome: 'invalid' | 'denied', decision: Decision, logged: AuthorizeRequest) => {
          recordDecision(deps, logged, decision, (performance.now() - t0) * 1000);
          metrics.provisionAttempts.inc({ outcome });
          requestLog(deps.log, request).warn(
            { ip: request.ip, keyId, reason: decision.reason },
            outcome === 'invalid' ? 'provisioning with an invalid key' : 'provisioning denied',
          );
          return reply.code(403).send({ error: { code: 'denied', message: DENIED }, decisionId: decision.decisionId });
        };
        const invalid = () =>
          denied(
            'invalid',
            engine.reject(DENIED, { code: 'invalid-credential', message: 'the provisioning key is not valid' }),
            {
              principal: { type: 'credential', id: keyId ?? '-' },
              action: 'register',
              resource: { type: 'fleet', id: '-' },
              context,
            },
          );

        // The secret is checked here; the key's attributes are read once, under the write lock.
        const key = keys.verify(provisioningKey);
        if (key?.kind !== 'provisioning_key') return invalid();

        let asked: AuthorizeRequest | undefined;
        const result = keys.provision(key.subject, deviceId, metadata, (principal) => {
          const { fleet, organization } = principal.attributes as { fleet: string; organization: string };
          asked = {
            principal,
            action: 'register',
            resource: { type: 'fleet', id: fleet, attributes: { organization } },
            context,
          };
          return engine.authorize(asked);
        });
        if (!result.decision || !asked) return invalid(); // the key was deleted between the two reads
        if (result.outcome === 'denied') return denied('denied', result.decision, asked);

        recordDecision(deps, asked, result.decision, (performance.now() - t0) * 1000);
        metrics.provisionAttempts.inc({ outcome: result.outcome });
        const decisionId = result.decision.decisionId;
        if (result.outcome === 'conflict') {
          return reply
            .code(409)
            .send({ error: { code: 'conflict', message: `a device with id ${deviceId} already exists` }, decisionId });
        }
        requestLog(deps.log, request).info({ deviceId, fleet: result.device.fleet, keyId }, 'device provisioned');
        return reply.code(201).send({ device: result.device, deviceKey: result.deviceKey, decisionId });
      },
    );
  });
}
