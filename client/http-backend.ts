// The client of a sidecar: coalesced authorize calls on /v1/authorize/batch, everything else one request
// a call. Answers are checked before they are believed: a decision by hand (hot path), the rest with zod.
import type { z } from 'zod';
import { AzActionSearchResponse, AzDecision, AzEntitySearchResponse, AzEvaluationsResponse } from '../api/authzen.js';
import { PlanResponse, RulesResponse } from '../api/plans.js';
import type { Backend } from './backend.js';
import { Coalescer, type Pending } from './coalescer.js';
import { isDecision } from './decision-shape.js';
import { failedDecision, Rejected, Unreachable } from './fail-closed.js';
import { HttpTransport } from './http-transport.js';
import type { ClientDecision, HttpClientOptions } from './types.js';

export const HTTP_DEFAULTS = { timeoutMs: 1000, maxBatch: 100, batchWindowMs: 0, connections: 16, maxAttempts: 3 };

export function httpBackend(options: HttpClientOptions): Backend {
  const o = { ...HTTP_DEFAULTS, ...definedOnly(options) };
  if (!(Number.isInteger(o.maxBatch) && o.maxBatch >= 1))
    throw new TypeError('createClient: maxBatch must be an integer ≥ 1');
  const transport = new HttpTransport(o);

  const decideOne = async (text: string): Promise<ClientDecision> => {
    try {
      const answer = await transport.post('/v1/authorize', text);
      return isDecision(answer) ? answer : failedDecision(new Unreachable('the answer is not a decision'));
    } catch (e) {
      return failedDecision(e);
    }
  };

  /** Sends `texts` (the requests of `waiting`, as JSON) and settles every caller, whatever happens. */
  const decideMany = async (waiting: Pending[], texts: string[]): Promise<void> => {
    if (waiting.length === 0) return;
    if (waiting.length === 1) return waiting[0]!.resolve(await decideOne(texts[0]!));
    let answer: unknown;
    try {
      answer = await transport.post('/v1/authorize/batch', `{"requests":[${texts.join(',')}]}`);
    } catch (e) {
      const at = e instanceof Rejected ? /^requests\.(\d+)(?:\.|$)/.exec(e.path ?? '') : null;
      const index = at ? Number(at[1]) : -1;
      if (e instanceof Rejected && index >= 0 && index < waiting.length) {
        // One bad request refuses the whole batch: it alone is denied, the others are sent again.
        waiting[index]!.resolve(failedDecision(relativeTo(e, index)));
        return decideMany(without(waiting, index), without(texts, index));
      }
      if (e instanceof Rejected && (e.code === 'batch_too_large' || e.code === 'payload_too_large')) {
        const half = Math.ceil(waiting.length / 2);
        await Promise.all([
          decideMany(waiting.slice(0, half), texts.slice(0, half)),
          decideMany(waiting.slice(half), texts.slice(half)),
        ]);
        return;
      }
      for (const p of waiting) p.resolve(failedDecision(e));
      return;
    }
    const results = (answer as { results?: unknown } | null)?.results;
    if (!Array.isArray(results) || results.length !== waiting.length) {
      const e = new Unreachable('the batch answer does not hold one decision a request');
      for (const p of waiting) p.resolve(failedDecision(e));
      return;
    }
    for (let i = 0; i < waiting.length; i++) {
      const d = results[i];
      waiting[i]!.resolve(isDecision(d) ? d : failedDecision(new Unreachable('the answer is not a decision')));
    }
  };

  const send = (batch: Pending[]): void => {
    const waiting: Pending[] = [];
    const texts: string[] = [];
    for (const p of batch) {
      const text = requestJson(p.request);
      if (text instanceof Rejected) p.resolve(failedDecision(text));
      else {
        waiting.push(p);
        texts.push(text);
      }
    }
    decideMany(waiting, texts).catch((e) => {
      for (const p of waiting) p.resolve(failedDecision(e)); // a promise settles once: only the unsettled take this
    });
  };
  const coalescer = new Coalescer(send, o.maxBatch, o.batchWindowMs);

  const call = async <T extends z.ZodType>(path: string, body: unknown, shape: T): Promise<z.infer<T>> =>
    checked(shape, await transport.post(path, JSON.stringify(body)));

  return {
    authorize(request) {
      if (o.maxBatch > 1) return coalescer.add(request);
      const text = requestJson(request);
      return text instanceof Rejected ? Promise.resolve(failedDecision(text)) : decideOne(text);
    },
    plan: (request) => call('/v1/plan', request, PlanResponse),
    rules: (request) => call('/v1/rules', request, RulesResponse),
    evaluation: (request) => call('/access/v1/evaluation', request, AzDecision),
    async evaluations(request) {
      const answer = await transport.post('/access/v1/evaluations', JSON.stringify(request));
      // Without items the request is one evaluation and the PDP answers like /evaluation: one item here.
      const batch = answer as { evaluations?: unknown } | null;
      if (batch !== null && typeof batch === 'object' && 'evaluations' in batch)
        return checked(AzEvaluationsResponse, answer);
      return { evaluations: [checked(AzDecision, answer)] };
    },
    subjectSearch: (request) => call('/access/v1/search/subject', request, AzEntitySearchResponse),
    resourceSearch: (request) => call('/access/v1/search/resource', request, AzEntitySearchResponse),
    actionSearch: (request) => call('/access/v1/search/action', request, AzActionSearchResponse),
    async ready() {
      await transport.get('/ready');
    },
    close: () => transport.close(),
  };
}

/** A request as JSON, or why it cannot be sent (a BigInt, a cycle, not an object). */
function requestJson(request: unknown): string | Rejected {
  try {
    const text = JSON.stringify(request);
    if (text?.startsWith('{')) return text;
  } catch (e) {
    return new Rejected('invalid_request', `the request cannot be sent as JSON: ${(e as Error).message}`);
  }
  return new Rejected('invalid_request', 'the request must be an object');
}

function checked<T extends z.ZodType>(shape: T, answer: unknown): z.infer<T> {
  const parsed = shape.safeParse(answer);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const at = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new Unreachable(`the answer does not have the expected shape (${at}${issue.message})`);
}

/** The batch's error as the error of its `index`th request: `requests.3.action: …` becomes `action: …`. */
function relativeTo(e: Rejected, index: number): Rejected {
  const prefix = `requests.${index}`;
  const strip = (s: string) => (s.startsWith(`${prefix}.`) ? s.slice(prefix.length + 1) : s === prefix ? '' : s);
  const path = strip(e.path ?? '');
  return new Rejected(e.code, strip(e.message), path === '' ? undefined : path, e.status);
}

const without = <T>(xs: T[], index: number): T[] => [...xs.slice(0, index), ...xs.slice(index + 1)];

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
