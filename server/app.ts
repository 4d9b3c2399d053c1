// buildApp: the fastify instance with every route; it never listens (tests inject or listen themselves).
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { validatorFor } from './body/body-schema.js';
import { parseJsonBody } from './body/parse-json-body.js';
import { DecisionService } from './decide/decision-service.js';
import type { DecisionPool } from './decide/decision-pool.js';
import { logRecorder, metricsRecorder, type DecisionRecorder } from './decide/recorders.js';
import { shadowRecorder, type Shadow } from './shadow/shadow.js';
import { shadowRoutes } from './routes/shadow.js';
import { HttpError, type ErrorCode } from './errors.js';
import type { Metrics } from './plugins/metrics.js';
import type { PolicyHolder } from './plugins/policy-holder.js';
import type { WatchMode } from './plugins/policy-watcher.js';
import { authorizeRoutes } from './routes/authorize.js';
import { openApiRoutes, recordRoutes } from './routes/openapi.js';
import { planRoutes } from './routes/plans.js';
import { adminRoutes } from './routes/admin.js';
import { provisionRoutes } from './routes/provision.js';
import { authzenRoutes } from './routes/authzen.js';
import { operationsRoutes } from './routes/operations.js';
import type { ServerConfig } from './config.js';
import {
  StoreUnavailableError,
  type DecisionSink,
  type EntityStore,
  type KeyStore,
  type StoreStatus,
} from './store/stores.js';
import { requestLog, type Log } from './log.js';
import type { SidecarList } from './sidecar-list.js';

export interface AppDeps {
  config: ServerConfig;
  policies: PolicyHolder;
  /** How changes to the policy directory are seen; none with `--no-watch`. */
  watcher?: { mode: WatchMode; error: string | undefined } | undefined;
  decisionLog: DecisionSink;
  metrics: Metrics;
  keys: KeyStore;
  entities: EntityStore;
  /** How the store is doing (`/health`); a SQLite store is always up. */
  store?: { status(): StoreStatus };
  clock: () => number;
  /** The sidecar's log (fastify has none: `request.log` logs nothing; see log.ts). */
  log: Log;
  /** Decision threads for the batch route; without them the request thread decides batches. */
  pool?: DecisionPool | undefined;
  /** Recorders that see every decision after the metrics and before the decision log (recorders.ts). */
  recorders?: readonly DecisionRecorder[] | undefined;
  /** The clock decisions are timed with (performance.now; a test steps its own). */
  now?: (() => number) | undefined;
  /** The sidecars `GET /v1/admin/sidecars` lists (the shared store's registry); by default this one alone. */
  sidecars?: SidecarList | undefined;
  /** Shadow evaluation (`--shadow-policies`, the admin API); without it nothing is compared. */
  shadow?: Shadow | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** AuthZEN routes answer every transport error with a 400 (the spec), a wrong content type included. */
    authzen?: boolean;
  }
}

const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
};

function fastifyErrorMessage(code: ErrorCode, error: FastifyError, contentType: string | undefined): string {
  if (code === 'unsupported_media_type') {
    const sent =
      contentType === undefined ? 'no content type' : `content type ${JSON.stringify(contentType.slice(0, 100))}`;
    return `the body must be JSON sent as application/json, not ${sent}`;
  }
  return error.message;
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    logger: false, // deps.log is the log (log.ts)
    bodyLimit: deps.config.bodyLimit,
    return503OnClosing: true,
    // Whose address is the client's: the socket's, or X-Forwarded-For's when the proxy is trusted.
    trustProxy: deps.config.trustProxy,
  });
  // Every body is checked by the validator body-schema.ts compiled for its schema: one mechanism.
  app.setValidatorCompiler(({ schema }) => validatorFor(schema as Record<string, unknown>));
  // Before any route: the OpenAPI document lists what is registered, not what someone remembered to add.
  const routes = recordRoutes(app);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let http: HttpError;
    if (error instanceof HttpError) {
      http = error;
    } else if (error instanceof StoreUnavailableError) {
      requestLog(deps.log, request).warn({ err: error.message }, 'store unavailable');
      http = new HttpError('store_unavailable', `${error.message}; nothing was changed`);
    } else if (error.validation) {
      const body = request.routeOptions.config.body;
      http = body ? body.invalid(request.body) : new HttpError('invalid_request', error.message);
    } else if (error.code && FASTIFY_ERRORS[error.code]) {
      const code = FASTIFY_ERRORS[error.code]!;
      http = new HttpError(code, fastifyErrorMessage(code, error, request.headers['content-type']));
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      http = new HttpError('invalid_request', error.message);
    } else {
      requestLog(deps.log, request).error({ err: error }, 'unexpected error');
      http = new HttpError('internal', 'internal error; the request was not allowed');
    }
    if (http.code === 'unsupported_media_type' && request.routeOptions.config?.authzen) {
      http = new HttpError('invalid_request', 'the body must be JSON (Content-Type: application/json)');
    }
    return reply.code(http.status).send(http.body());
  });

  // X-Request-ID is echoed so a caller can match answers to requests in its own logs. A synchronous
  // onRequest hook: an async onSend hook cost every response a promise.
  app.addHook('onRequest', (request, reply, done) => {
    const id = request.headers['x-request-id'];
    if (typeof id === 'string') reply.header('x-request-id', id);
    done();
  });

  // JSON only: fastify's text/plain parser let a browser send a body cross-site without a preflight
  // (text/plain, forms and multipart are "simple" requests); every other type is a 415. The parser is
  // fastify's default JSON parser, minus two regular expressions over every body (body/parse-json-body.ts). An
  // empty body is no body on a route that takes none: many clients send the JSON type on every call.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    try {
      const empty = (text as string).length === 0 && request.routeOptions.config?.body === undefined;
      done(null, empty ? undefined : parseJsonBody(text as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const http = new HttpError('not_found', `no route ${request.method} ${request.url}`);
    return reply.code(http.status).send(http.body());
  });

  // The one place decisions are made for HTTP; the routes that decide translate to and from it.
  const decisions = new DecisionService({
    policies: deps.policies,
    keys: deps.keys,
    entities: deps.entities,
    // The log last: it may hand a batch's rows to its writer thread.
    recorders: [
      metricsRecorder(deps.metrics),
      ...(deps.recorders ?? []),
      ...(deps.shadow ? [shadowRecorder(deps.shadow, deps.clock)] : []),
      logRecorder(deps.decisionLog),
    ],
    pool: deps.pool,
    shadow: deps.shadow,
    clock: deps.clock,
    now: deps.now,
    logRequests: deps.config.logRequests,
    batchLimit: deps.config.batchLimit,
  });
  app.register(authorizeRoutes, { decisions, metrics: deps.metrics });
  app.register(operationsRoutes, deps);
  app.register(planRoutes, deps);
  app.register(adminRoutes, deps);
  app.register(shadowRoutes, deps);
  app.register(provisionRoutes, {
    decisions,
    metrics: deps.metrics,
    log: deps.log,
    clock: deps.clock,
    perMinute: deps.config.provisionRateLimit,
    attempts: deps.keys,
  });
  app.register(authzenRoutes, { decisions, entities: deps.entities, config: deps.config });
  app.register(openApiRoutes, { batchLimit: deps.config.batchLimit, routes });
  return app;
}
