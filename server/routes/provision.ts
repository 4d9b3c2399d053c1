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

type Body = z.infer<typeof ProvisionRequest>;

const DENIED = 'provisioning was denied';

export function provisionRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { keys, policies, decisionLog, metrics, clock } = deps;
  const perMinute = deps.config.provisionRateLimit;

  app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (request, context) => {
      metrics.provisionAttempts.inc({ outcome: 'rate_limited' });
      request.log.warn({ ip: request.ip, limit: context.max }, 'provisioning rate limit reached');
      return new HttpError('rate_limited', `too many provisioning attempts: at most ${context.max} a minute per key and per client address`);
    },
  });

  app.register(async (scope) => {
    const limit = (name: string, key: (request: FastifyRequest) => string) =>
      scope.rateLimit({ max: perMinute, timeWindow: 60_000, keyGenerator: (request) => `${name}:${key(request)}` });
    const keyOf = (request: FastifyRequest) => keyIdOf((request.body as Partial<Body> | undefined)?.provisioningKey ?? '') ?? 'malformed';

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
        const principal = keys.resolve(provisioningKey);
        const context = { time: new Date(clock()).toISOString(), ip: request.ip };

        if (!principal || principal.type !== 'provisioning_key') {
          const decision = engine.reject(DENIED, { code: 'invalid-credential', message: 'the provisioning key is not valid' });
          decisionLog.append(decision, { principal: { type: 'credential', id: keyIdOf(provisioningKey) ?? '-' }, action: 'register', resource: { type: 'fleet', id: '-' }, context }, (performance.now() - t0) * 1000);
          metrics.provisionAttempts.inc({ outcome: 'invalid' });
          request.log.warn({ ip: request.ip, keyId: keyIdOf(provisioningKey) }, 'provisioning with an invalid key');
          return reply.code(403).send({ error: { code: 'denied', message: DENIED }, decisionId: decision.decisionId });
        }

        let logged: [Decision, AuthorizeRequest, number] | undefined;
        const result = keys.provision(principal.id, deviceId, metadata, (p) => {
          const attributes = p.attributes as { fleet: string; organization: string };
          const req = { principal: p, action: 'register', resource: { type: 'fleet', id: attributes.fleet, attributes: { organization: attributes.organization } }, context };
          const decision = engine.authorize(req);
          logged = [decision, req, (performance.now() - t0) * 1000];
          return decision;
        });
        if (logged) recordDecision(deps, logged[1], logged[0], logged[2]);
        metrics.provisionAttempts.inc({ outcome: result.outcome });
        const decisionId = result.decision?.decisionId ?? engine.reject(DENIED, { code: 'invalid-credential', message: 'the provisioning key is not valid' }).decisionId;
        switch (result.outcome) {
          case 'created':
            request.log.info({ deviceId, fleet: result.device.fleet, keyId: principal.id }, 'device provisioned');
            return reply.code(201).send({ device: result.device, deviceKey: result.deviceKey, decisionId });
          case 'conflict':
            return reply.code(409).send({ error: { code: 'conflict', message: `a device with id ${deviceId} already exists` }, decisionId });
          case 'denied':
            request.log.warn({ ip: request.ip, keyId: principal.id, reason: result.decision?.reason }, 'provisioning denied');
            return reply.code(403).send({ error: { code: 'denied', message: DENIED }, decisionId });
        }
      },
    );
  });
}
