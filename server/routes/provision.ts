// POST /v1/provision: a provisioning key registers a new device and receives the device's key, once.
// The policy decides `register` on the key's fleet with the key's attributes from the store and the
// client's address; the decision, the device, its key and the key's new count are one transaction.
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
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

  // The plugin's counters, called from the handler: its route hooks mark a request after the first
  // limit, so a second limit on the same route never counted anything.
  app.register(rateLimit, { global: false });

  app.register(async (scope) => {
    const window = { max: perMinute, timeWindow: 60_000 };
    // An IPv6 client is its /64 (the plugin's own default): one host usually holds a whole /64.
    const perAddress = scope.createRateLimit({
      ...window,
      keyGenerator: (request) => `address:${normalizeIP(request.ip)}`,
    });
    // Only attempts that present the key's secret count against the key: whoever merely knows a key id
    // (it is in logs and listings) cannot exhaust the key's limit.
    const perKey = scope.createRateLimit({
      ...window,
      keyGenerator: (request) => `key:${keyIdOf((request.body as Body).provisioningKey)}`,
    });
    const exceeded = async (limit: typeof perAddress, request: FastifyRequest) => {
      const state = await limit(request);
      return state.isAllowed || !state.isExceeded ? undefined : state.ttlInSeconds;
    };

    scope.post<{ Body: Body }>(
      '/v1/provision',
      { schema: { body: jsonSchema(ProvisionRequest) }, config: { zod: ProvisionRequest } },
      async (request, reply) => {
        const engine = policies.serving();
        const { provisioningKey, deviceId, metadata } = request.body;
        const t0 = performance.now();
        const context = { time: new Date(clock()).toISOString(), ip: request.ip };
        const keyId = keyIdOf(provisioningKey);

        const rateLimited = (retryAfter: number, per: 'address' | 'key') => {
          metrics.provisionAttempts.inc({ outcome: 'rate_limited' });
          requestLog(deps.log, request).warn({ ip: request.ip, keyId, per }, 'provisioning rate limit reached');
          const error = new HttpError(
            'rate_limited',
            `too many provisioning attempts: at most ${perMinute} a minute per key and per client address`,
          );
          return reply.code(error.status).header('retry-after', retryAfter).send(error.body());
        };

        /** Every refusal answers the same, whatever the reason, and is logged and counted as `denied`. */
        const denied = (decision: Decision, logged: AuthorizeRequest, line = 'provisioning denied') => {
          recordDecision(deps, logged, decision, (performance.now() - t0) * 1000);
          metrics.provisionAttempts.inc({ outcome: 'denied' });
          requestLog(deps.log, request).warn(
            { ip: request.ip, keyId, reason: decision.errors?.[0]?.message ?? decision.reason },
            line,
          );
          return reply.code(403).send({ error: { code: 'denied', message: DENIED }, decisionId: decision.decisionId });
        };
        const invalid = () =>
          denied(
            engine.reject(DENIED, { code: 'invalid-credential', message: 'the provisioning key is not valid' }),
            {
              principal: { type: 'credential', id: keyId ?? '-' },
              action: 'register',
              resource: { type: 'fleet', id: '-' },
              context,
            },
            'provisioning with an invalid key',
          );

        const addressWait = await exceeded(perAddress, request);
        if (addressWait !== undefined) return rateLimited(addressWait, 'address');
        // The secret is checked here; the key's attributes are read once, under the write lock.
        const key = keys.verify(provisioningKey);
        if (key?.kind !== 'provisioning_key') return invalid();
        const keyWait = await exceeded(perKey, request);
        if (keyWait !== undefined) return rateLimited(keyWait, 'key');

        let asked: AuthorizeRequest | undefined;
        const result = await keys.provision(key.subject, deviceId, metadata, (principal) => {
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
        if (result.outcome === 'denied') return denied(result.decision, asked);
        if (result.outcome === 'taken') {
          // The policy allowed it, but the id belongs to a device of another fleet: saying so would tell
          // any key holder which device ids exist in other organizations.
          const refusal = engine.reject(DENIED, {
            code: 'device-id-taken',
            message: `device id ${deviceId} belongs to another fleet`,
          });
          return denied(refusal, asked);
        }

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
