// POST /v1/provision: a provisioning key registers a new device and receives the device's key, once.
// The wire format, the rate limits and the answers are here; the decision (the policy's `register` on
// the key's fleet with the key's attributes from the store and the client's address, one store operation
// with the device's creation) is the decision service's.
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyPluginCallback } from 'fastify';
import type { z } from 'zod';
import type { Decision } from '../../engine/index.js';
import { bodyRoute, bodySchema } from '../body/body-schema.js';
import type { DecisionService } from '../decide/decision-service.js';
import { PROVISIONING_DENIED } from '../decide/decision-service.js';
import { HttpError } from '../errors.js';
import { requestLog, type Log } from '../log.js';
import type { Metrics } from '../plugins/metrics.js';
import { ProvisionRequest } from '../schemas.js';
import { keyIdOf } from '../store/key-store.js';
import type { KeyStore } from '../store/stores.js';

type Body = z.infer<typeof ProvisionRequest>;

export interface ProvisionRoutesOptions {
  decisions: DecisionService;
  metrics: Metrics;
  log: Log;
  clock: () => number;
  /** Attempts a minute per client address and per key. */
  perMinute: number;
  /** Where attempts are counted (the key store: shared by every sidecar on a shared store). */
  attempts: Pick<KeyStore, 'countAttempt'>;
}

const provisionBody = bodyRoute(bodySchema(ProvisionRequest));

export const provisionRoutes: FastifyPluginCallback<ProvisionRoutesOptions> = (app, options, done) => {
  const { decisions, metrics, log, clock, perMinute, attempts } = options;

  // Attempts are counted by the key store: in PostgreSQL for every sidecar on it, in this process on
  // SQLite. An IPv6 client is its /64 (one host usually holds a whole /64). Only attempts that present
  // the key's secret count against the key: whoever merely knows a key id (it is in logs and listings)
  // cannot exhaust the key's limit.
  const WINDOW_MS = 60_000;
  /** Counts the attempt; the seconds to wait when it is over the limit, else undefined. */
  const exceeded = async (name: string) => {
    const w = await attempts.countAttempt(name, WINDOW_MS);
    return w.count > perMinute ? Math.max(1, Math.ceil(w.resetInMs / 1000)) : undefined;
  };

  app.register((scope, _options, registered) => {
    scope.post<{ Body: Body }>('/v1/provision', provisionBody, async (request, reply) => {
      const engine = decisions.serving();
      const { provisioningKey, deviceId, metadata } = request.body;
      const context = { time: new Date(clock()).toISOString(), ip: request.ip };
      const keyId = keyIdOf(provisioningKey);

      const rateLimited = (retryAfter: number, per: 'address' | 'key') => {
        metrics.provisionAttempts.inc({ outcome: 'rate_limited' });
        requestLog(log, request).warn({ ip: request.ip, keyId, per }, 'provisioning rate limit reached');
        const error = new HttpError(
          'rate_limited',
          `too many provisioning attempts: at most ${perMinute} a minute per key and per client address`,
        );
        return reply.code(error.status).header('retry-after', retryAfter).send(error.body());
      };

      /** Every refusal answers the same, whatever the reason, and is counted as `denied`. */
      const denied = (decision: Decision, line = 'provisioning denied') => {
        metrics.provisionAttempts.inc({ outcome: 'denied' });
        requestLog(log, request).warn(
          { ip: request.ip, keyId, reason: decision.errors?.[0]?.message ?? decision.reason },
          line,
        );
        return reply
          .code(403)
          .send({ error: { code: 'denied', message: PROVISIONING_DENIED }, decisionId: decision.decisionId });
      };

      const addressWait = await exceeded(`address:${normalizeIP(request.ip)}`);
      if (addressWait !== undefined) return rateLimited(addressWait, 'address');
      // The secret is checked here; the key's attributes are read once, under the store's lock.
      const key = decisions.checkProvisioningKey(engine, provisioningKey, context);
      if ('invalid' in key) return denied(key.invalid, 'provisioning with an invalid key');
      const keyWait = await exceeded(`key:${key.subject}`);
      if (keyWait !== undefined) return rateLimited(keyWait, 'key');

      const result = await decisions.register(engine, provisioningKey, key.subject, deviceId, metadata, context);
      if (result.outcome === 'invalid') return denied(result.decision, 'provisioning with an invalid key');
      if (result.outcome === 'denied') return denied(result.decision);
      metrics.provisionAttempts.inc({ outcome: result.outcome });
      const decisionId = result.decision.decisionId;
      if (result.outcome === 'conflict') {
        return reply
          .code(409)
          .send({ error: { code: 'conflict', message: `a device with id ${deviceId} already exists` }, decisionId });
      }
      requestLog(log, request).info({ deviceId, fleet: result.device.fleet, keyId }, 'device provisioned');
      return reply.code(201).send({ device: result.device, deviceKey: result.deviceKey, decisionId });
    });
    registered();
  });
  done();
};
