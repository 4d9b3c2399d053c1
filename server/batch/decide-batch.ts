// The batch endpoint's work from the body's text to the response's, with the decision log's rows: the
// request thread and the decision threads (decision-pool.ts) both run this, so they cannot drift.
import type { z } from 'zod';
import type { Decision, Engine } from '../../engine/index.js';
import { batchJson } from '../decision-json.js';
import { BadCredential, prepare } from '../prepare-request.js';
import { invalidBody, type HttpAuthorizeRequest } from '../schemas.js';
import { LogBatchBuilder, type LogBatch } from '../decision-log/batch.js';
import type { KeyStore } from '../store/stores.js';
import { parseJsonBody, type BodyValidator } from './json-body.js';

export interface BatchDeps {
  engine: Engine;
  /** The batch body's JSON Schema, compiled (json-body.ts), and its zod schema to word a 400. */
  validate: BodyValidator;
  schema: z.ZodType;
  /** Resolves principals given by key; a decision thread has none. */
  keys: KeyStore | undefined;
  clock: () => number;
  logRequests: boolean;
}

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

/** Throws the 400 (fastify's JSON errors, or an HttpError) for a body that is not a valid batch. */
export function decideBatch(text: string, deps: BatchDeps & { keys: KeyStore }): DecidedBatch;
export function decideBatch(text: string, deps: BatchDeps): DecidedBatch | NeedsKeyStore;
export function decideBatch(text: string, deps: BatchDeps): DecidedBatch | NeedsKeyStore {
  const body = parseJsonBody(text);
  if (!deps.validate(body)) throw invalidBody(deps.schema, body);
  const { engine, keys } = deps;
  const items = (body as { requests: HttpAuthorizeRequest[] }).requests;
  if (!keys && items.some((item) => 'credential' in item.principal)) return { needsKeyStore: true };
  // Every 400 before any decision; `keys` is only read for an item that names a key.
  const prepared = items.map((item, i) => prepare(engine, keys!, item, i));
  // Latency is measured for the whole batch and logged per decision as its share.
  const t0 = performance.now();
  const results: Decision[] = prepared.map((p) => (p instanceof BadCredential ? p.decision : engine.authorize(p)));
  const share = ((performance.now() - t0) * 1000) / items.length;
  const time = deps.clock();
  const log = new LogBatchBuilder(items.length);
  for (let i = 0; i < items.length; i++) {
    const p = prepared[i]!;
    log.push(results[i]!, p instanceof BadCredential ? p.request : p, time, share, deps.logRequests);
  }
  return { json: batchJson({ results }), log: log.take() };
}
