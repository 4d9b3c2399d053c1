// buildApp: the fastify instance with every route; it never listens (tests inject or listen themselves).
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { z } from 'zod';
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
import { invalidBody } from './schemas.js';
import { AJV_OPTIONS, parseJsonBody } from './batch/json-body.js';
import type { ServerConfig } from './config.js';
import type { DecisionSink, EntityStore, KeyStore } from './store/stores.js';
import type { DecisionPool } from './batch/decision-pool.js';
import { requestLog, type Log } from './log.js';

export interface AppDeps {
  config: ServerConfig;
  policies: PolicyHolder;
  /** How changes to the policy directory are seen; none with `--no-watch`. */
  watcher?: { mode: WatchMode; error: string | undefined } | undefined;
  decisionLog: DecisionSink;
  metrics: Metrics;
  keys: KeyStore;
  entities: EntityStore;
  clock: () => number;
  /** The sidecar's log (fastify has none: `request.log` logs nothing; see log.ts). */
  log: Log;
  /** Decision threads for the batch route; without them the request thread decides batches. */
  pool?: DecisionPool | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The zod schema of the body, used only to word a 400. */
    zod?: z.ZodType;
    /** AuthZEN routes answer every transport error with a 400 (the spec), a wrong content type included. */
    authzen?: boolean;
  }
}

const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
};

function fastifyErrorMessage(code: ErrorCode, error: FastifyError, contentType: string | undefined): string {
  if (code === 'invalid_json') return `the body is not valid JSON: ${error.message}`;
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
    // Validate exactly what was sent: no type coercion, no defaults, nothing removed.
    ajv: AJV_OPTIONS,
    return503OnClosing: true,
    // Whose address is the client's: the socket's, or X-Forwarded-For's when the proxy is trusted.
    trustProxy: deps.config.trustProxy,
  });
  // Before any route: the OpenAPI document lists what is registered, not what someone remembered to add.
  const routes = recordRoutes(app);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let http: HttpError;
    if (error instanceof HttpError) {
      http = error;
    } else if (error.validation) {
      const schema = request.routeOptions.config.zod;
      http = schema ? invalidBody(schema, request.body) : new HttpError('invalid_request', error.message);
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
  // fastify's default JSON parser, minus two regular expressions over every body (json-body.ts). An
  // empty body is no body on a route that takes none: many clients send the JSON type on every call.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    try {
      const empty = (text as string).length === 0 && request.routeOptions.config?.zod === undefined;
      done(null, empty ? undefined : parseJsonBody(text as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const http = new HttpError('not_found', `no route ${request.method} ${request.url}`);
    return reply.code(http.status).send(http.body());
  });

  authorizeRoutes(app, deps);
  operationsRoutes(app, deps);
  planRoutes(app, deps);
  adminRoutes(app, deps);
  provisionRoutes(app, deps);
  authzenRoutes(app, deps);
  openApiRoutes(app, deps, routes);
  return app;
}
