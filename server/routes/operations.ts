// /health, /ready and /metrics.
import type { FastifyPluginCallback } from 'fastify';
import type { AppDeps } from '../app.js';
import { HttpError } from '../errors.js';

export const operationsRoutes: FastifyPluginCallback<AppDeps> = (app, deps, done) => {
  const { policies, watcher, decisionLog, metrics, pool } = deps;

  // Up as long as the process answers; it also says which policies are served, how the last reload went
  // and how changes are seen (`polling` when the directory could not be watched, with the reason).
  app.get('/health', async () => ({
    status: 'ok',
    policyRevision: policies.engine?.revision ?? null,
    lastReload: policies.lastReload ?? null,
    watch: watcher?.mode ?? 'off',
    ...(watcher?.mode === 'polling' ? { watchError: watcher.error } : {}),
    decisionLog: { queueDepth: decisionLog.queueDepth, ...decisionLog.stats },
    decisionThreads: pool ? pool.status : null,
    store: deps.store?.status() ?? null,
  }));

  app.get('/ready', async (_request, reply) => {
    if (!policies.engine) throw new HttpError('not_ready', 'no policy set is loaded');
    return reply.send({ status: 'ready', policyRevision: policies.engine.revision });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  done();
};
