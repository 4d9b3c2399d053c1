// `fleetguard/client`: ask Fleetguard from a service, over HTTP to a sidecar or in process with the
// engine, through one interface. Decisions never throw: whatever fails, the answer is a deny that says why
// (fail-closed.ts). The engine is imported only when a client is embedded, so a sidecar client pulls in
// neither the compiler nor any server code.
import type { Backend } from './backend.js';
import {
  failedDecision,
  failedEvaluation,
  failedEvaluations,
  failedPlan,
  failedRules,
  failedSearch,
  PoliciesUnavailable,
} from './fail-closed.js';
import { httpBackend } from './http-backend.js';
import type { ClientOptions, EmbeddedClientOptions, FleetguardClient } from './types.js';

export type * from './types.js';
export { REJECTED, UNREACHABLE } from './fail-closed.js';

/**
 * `createClient({ url })` or `{ socketPath }` asks a sidecar; `createClient({ policies: 'policies' })`
 * decides in process. Throws only for options that cannot work (a bad `maxBatch`, both a url and a socket).
 */
export function createClient(options: ClientOptions): FleetguardClient {
  if ('policies' in options && options.policies !== undefined) {
    const { url, socketPath } = options as { url?: string; socketPath?: string };
    if (url !== undefined || socketPath !== undefined)
      throw new TypeError('createClient: give exactly one of url, socketPath or policies');
    return failClosed('embedded', lazyEmbedded(options));
  }
  return failClosed('http', httpBackend(options));
}

/** An embedded backend made once the engine's modules are imported; calls before then wait for it. */
function lazyEmbedded(options: EmbeddedClientOptions): Backend {
  let backend: Backend | undefined;
  const loading = import('./embedded-backend.js').then((m) => (backend = m.embeddedBackend(options)));
  loading.catch(() => {}); // every call reports the failure; an unhandled rejection would end the process
  const later =
    <K extends Exclude<keyof Backend, 'authorize'>>(name: K) =>
    (request: never) =>
      backend
        ? (backend[name] as (r: never) => unknown)(request)
        : loading.then((b) => (b[name] as (r: never) => unknown)(request));
  return {
    authorize: (request) =>
      backend ? backend.authorize(request) : loading.then((b) => b.authorize(request), failedDecision),
    isAllowed: (request) =>
      backend?.isAllowed
        ? backend.isAllowed(request)
        : loading.then(
            (b) => b.isAllowed!(request),
            () => false,
          ),
    plan: later('plan'),
    rules: later('rules'),
    evaluation: later('evaluation'),
    evaluations: later('evaluations'),
    subjectSearch: later('subjectSearch'),
    resourceSearch: later('resourceSearch'),
    actionSearch: later('actionSearch'),
    ready: () => (backend ? backend.ready() : loading.then((b) => b.ready())),
    close: () =>
      backend
        ? backend.close()
        : loading.then(
            (b) => b.close(),
            () => undefined,
          ),
  } as Backend;
}

function failClosed(mode: 'http' | 'embedded', backend: Backend): FleetguardClient {
  const guard = <R>(call: () => Promise<R>, failed: (e: unknown) => R): Promise<R> => {
    try {
      return call().catch(failed);
    } catch (e) {
      return Promise.resolve(failed(e));
    }
  };
  // A backend's authorize never rejects (each fails closed on its own hot path): no .catch a call.
  const authorize: FleetguardClient['authorize'] = (request) => {
    try {
      return backend.authorize(request);
    } catch (e) {
      return Promise.resolve(failedDecision(e));
    }
  };
  return {
    mode,
    authorize,
    isAllowed: (request) => {
      if (backend.isAllowed)
        try {
          return backend.isAllowed(request);
        } catch {
          return Promise.resolve(false);
        }
      return authorize(request).then((d) => d.allowed === true && d.decision === 'allow');
    },
    authorizeMany: (requests) => Promise.all(requests.map(authorize)),
    plan: (request) => guard(() => backend.plan(request), failedPlan),
    rules: (request) => guard(() => backend.rules(request), failedRules),
    evaluation: (request) => guard(() => backend.evaluation(request), failedEvaluation),
    evaluations: (request) =>
      guard(
        () => backend.evaluations(request),
        (e) => failedEvaluations(request, e),
      ),
    subjectSearch: (request) => guard(() => backend.subjectSearch(request), failedSearch),
    resourceSearch: (request) => guard(() => backend.resourceSearch(request), failedSearch),
    actionSearch: (request) => guard(() => backend.actionSearch(request), failedSearch),
    ready: () =>
      backend.ready().catch((e) => {
        throw e instanceof PoliciesUnavailable
          ? e
          : new Error(`Fleetguard is not ready: ${(e as Error).message}`, { cause: e });
      }),
    close: () => backend.close(),
  };
}
