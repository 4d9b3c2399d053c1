// A batch of the decision API from the body's text to the response's, with the decision log's rows: the
// request thread and the decision threads (decision-pool.ts) both run this, so they cannot drift.
import type { AuthorizeRequest, Decision, Engine } from '../../engine/index.js';
import type { HttpAuthorizeRequest } from '../../api/authorize.js';
import type { BodySchema } from '../body/body-schema.js';
import { parseJsonBody } from '../body/parse-json-body.js';
import { batchJson } from '../decision-json.js';
import { LogBatchBuilder, type LogBatch } from '../decision-log/batch.js';
import type { KeyStore } from '../store/stores.js';
import { Denied, Refused, resolvePrincipal, type Resolved } from './resolve-principal.js';

export interface BatchDeps {
  engine: Engine;
  /** The batch body's schema (body-schema.ts). */
  body: BodySchema;
  /** Resolves principals given by key; a decision thread has none. */
  keys: KeyStore | undefined;
  clock: () => number;
  /** The clock decisions are timed with, in milliseconds. */
  now: () => number;
  logRequests: boolean;
  /**
   * Sees the requests the engine decided (not those denied by key) with their decisions, all made at
   * `time`, once the response is built: shadow evaluation (server/shadow/) on whichever thread decides.
   */
  observe?: BatchObserver | undefined;
}

export type BatchObserver = (requests: AuthorizeRequest[], decisions: Decision[], time: number) => void;

export interface DecidedBatch {
  /** The response body. */
  json: string;
  /** One row per decision for the decision log (and the metrics). */
  log: LogBatch;
}

/** A batch that names a principal by key, decided without a key store: whoever has one must decide it. */
export interface NeedsKeyStore {
  needsKeyStore: true;
}

/** The batch's first 400, and when its request presented a key, what to log for it. */
export interface RefusedBatch {
  refused: Refused;
  latencyUs: number;
}

/**
 * Throws the 400 (fastify's JSON errors, or an HttpError) for a body that is not a valid batch; a
 * request refused by name (the first, in order) is data. Latency is measured as on every route (from
 * before the principals are resolved to the last decision) and logged per decision as its share.
 */
export function decideBatch(text: string, deps: BatchDeps & { keys: KeyStore }): DecidedBatch | RefusedBatch;
export function decideBatch(text: string, deps: BatchDeps): DecidedBatch | RefusedBatch | NeedsKeyStore;
export function decideBatch(text: string, deps: BatchDeps): DecidedBatch | RefusedBatch | NeedsKeyStore {
  const body = parseJsonBody(text);
  deps.body.check(body);
  const { engine, keys } = deps;
  const items = (body as { requests: HttpAuthorizeRequest[] }).requests;
  if (!keys && items.some((item) => 'credential' in item.principal)) return { needsKeyStore: true };
  const { now } = deps;
  const t0 = now();
  // Every 400 before any decision; `keys` is only read for an item that names a key.
  const resolved = new Array<Exclude<Resolved, Refused>>(items.length);
  for (let i = 0; i < items.length; i++) {
    const r = resolvePrincipal(engine, keys!, items[i]!, i);
    if (r instanceof Refused) return { refused: r, latencyUs: (now() - t0) * 1000 };
    resolved[i] = r;
  }
  const results: Decision[] = resolved.map((r) => (r instanceof Denied ? r.decision : engine.authorize(r)));
  const share = ((now() - t0) * 1000) / items.length;
  const time = deps.clock();
  const log = new LogBatchBuilder(items.length);
  for (let i = 0; i < items.length; i++) {
    const r = resolved[i]!;
    log.push(results[i]!, r instanceof Denied ? r.request : r, time, share, deps.logRequests);
  }
  const json = batchJson({ results });
  if (deps.observe) {
    const requests: AuthorizeRequest[] = [];
    const decisions: Decision[] = [];
    for (let i = 0; i < items.length; i++) {
      const r = resolved[i]!;
      if (r instanceof Denied) continue;
      requests.push(r);
      decisions.push(results[i]!);
    }
    deps.observe(requests, decisions, time);
  }
  return { json, log: log.take() };
}
