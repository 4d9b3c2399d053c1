// The engine in this process: a policy directory compiled at start (and on changes when watched),
// decisions made synchronously, with the sidecar's checks in front so both modes answer alike: a
// malformed request or a name the schema does not declare is rejected with the sidecar's 400 wording.
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { describeInvalid, HttpAuthorizeRequest } from '../api/authorize.js';
import { PlanRequest, RulesRequest } from '../api/plans.js';
import {
  clientRules,
  formatDiagnostic,
  loadEngine,
  planQuery,
  PolicyError,
  unknownNames,
  type AuthorizeRequest,
  type Engine,
} from '../engine/index.js';
import { ENTITIES_FILE, readEntitiesFile } from '../engine/load/index.js';
import type { z } from 'zod';
import type { Backend } from './backend.js';
import { embeddedAuthzen, indexEntities, type EntityIndex } from './embedded-authzen.js';
import { failedDecision, PoliciesUnavailable, Rejected } from './fail-closed.js';
import { surelyValidRequest } from './request-shape.js';
import type { EmbeddedClientOptions } from './types.js';

const CREDENTIAL_NEEDS_SIDECAR =
  "a { credential } principal is resolved by the sidecar's key store; an embedded client needs the principal inline";

interface Loaded {
  engine: Engine;
  entities: EntityIndex;
}

/** Compiles the directory and reads its entities, or throws PoliciesUnavailable with every diagnostic. */
function load(dir: string): Loaded {
  try {
    const engine = loadEngine(dir);
    const path = join(dir, ENTITIES_FILE);
    if (!existsSync(path)) return { engine, entities: new Map() };
    const { entities, diagnostics } = readEntitiesFile(path, engine.policySet.schema, ENTITIES_FILE);
    if (!entities) throw new PoliciesUnavailable(diagnostics.map(formatDiagnostic).join('\n'));
    return { engine, entities: indexEntities(entities) };
  } catch (e) {
    if (e instanceof PoliciesUnavailable) throw e;
    const message = e instanceof PolicyError ? e.diagnostics.map(formatDiagnostic).join('\n') : (e as Error).message;
    throw new PoliciesUnavailable(message, { cause: e });
  }
}

const errorLines = (e: unknown) => (e instanceof Error ? e.message.split('\n') : [String(e)]);

export function embeddedBackend(options: EmbeddedClientOptions): Backend {
  const dir = options.policies;
  let current: Loaded;
  try {
    current = load(dir);
    options.onReload?.({ ok: true, revision: current.engine.revision });
  } catch (e) {
    options.onReload?.({ ok: false, errors: errorLines(e) });
    throw e;
  }
  let closed = false;
  let watcher: FSWatcher | undefined;
  if (options.watch) {
    let timer: NodeJS.Timeout | undefined;
    const reload = () => {
      try {
        current = load(dir);
        options.onReload?.({ ok: true, revision: current.engine.revision });
      } catch (e) {
        options.onReload?.({ ok: false, errors: errorLines(e) }); // the last good set keeps serving
      }
    };
    // Editors write files in several steps: reload shortly after the last change.
    watcher = watch(dir, { recursive: true }, (_event, file) => {
      if (file && !/\.ya?ml$/.test(String(file))) return;
      clearTimeout(timer);
      timer = setTimeout(reload, 150);
    });
    watcher.unref();
  }

  const engine = () => {
    if (closed) throw new PoliciesUnavailable('the client is closed');
    return current.engine;
  };
  const authzen = embeddedAuthzen(engine, () => current.entities, { batchLimit: options.batchLimit });

  /** The names the schema does not declare, as the sidecar's 400 words them. */
  const checkNames = (e: Engine, names: { principalType?: string; action?: string; resourceType?: string }) => {
    const { schema } = e.policySet;
    if (
      (names.principalType === undefined || schema.principals.has(names.principalType)) &&
      (names.action === undefined || schema.actions.includes(names.action)) &&
      (names.resourceType === undefined || schema.resources.has(names.resourceType))
    )
      return;
    const [first] = unknownNames(e.policySet, names);
    throw new Rejected(first!.code.replaceAll('-', '_'), first!.message, undefined, 400);
  };

  /** The request, once the sidecar's checks pass; throws Rejected as the sidecar would answer 400. */
  const checked = (request: unknown): AuthorizeRequest => {
    if (!surelyValidRequest(request)) {
      const parsed = HttpAuthorizeRequest.safeParse(request);
      if (!parsed.success) {
        const { message, path } = describeInvalid(HttpAuthorizeRequest, request);
        throw new Rejected('invalid_request', message, path, 400);
      }
    }
    const r = request as z.infer<typeof HttpAuthorizeRequest>;
    if ('credential' in r.principal) throw new Rejected('credential_needs_sidecar', CREDENTIAL_NEEDS_SIDECAR);
    checkNames(engine(), { principalType: r.principal.type, action: r.action, resourceType: r.resource.type });
    return r as AuthorizeRequest;
  };

  const parsed = <T extends z.ZodType>(schema: T, body: unknown): z.infer<T> => {
    const result = schema.safeParse(body);
    if (result.success) return result.data;
    const { message, path } = describeInvalid(schema, body);
    throw new Rejected('invalid_request', message, path, 400);
  };
  const sync =
    <A, R>(fn: (a: A) => R) =>
    async (a: A): Promise<R> =>
      fn(a);

  return {
    authorize(request) {
      try {
        return Promise.resolve(engine().authorize(checked(request)));
      } catch (e) {
        return Promise.resolve(failedDecision(e));
      }
    },
    // The engine's boolean path: the same answer without a decision object (nor its id).
    isAllowed(request) {
      try {
        return Promise.resolve(engine().isAllowed(checked(request)));
      } catch {
        return Promise.resolve(false);
      }
    },
    plan: sync((raw) => {
      const request = parsed(PlanRequest, raw);
      const e = engine();
      checkNames(e, {
        principalType: request.principal.type,
        action: request.action,
        resourceType: request.resourceType,
      });
      return planQuery(e.policySet, request, Date.now());
    }),
    rules: sync((raw) => {
      const request = parsed(RulesRequest, raw);
      const e = engine();
      checkNames(e, { principalType: request.principal.type });
      return clientRules(e.policySet, request.principal, request.context ?? {}, Date.now());
    }),
    evaluation: authzen.evaluation,
    evaluations: authzen.evaluations,
    subjectSearch: authzen.subjectSearch,
    resourceSearch: authzen.resourceSearch,
    actionSearch: authzen.actionSearch,
    ready: async () => {
      engine();
    },
    async close() {
      closed = true;
      watcher?.close();
    },
  };
}
