// A decision thread (decision-pool.ts): compiles the policy sets the request thread serves and decides
// whole batches from their text. Anything it cannot answer with a 200 (a bad body, a key to resolve, a
// revision it does not hold, an error) goes back as data saying why it is undecided, and the request
// thread answers it: nothing is thrown across the thread boundary.
//
// With a shadow candidate loaded (server/shadow/), a batch the thread decided is decided again with the
// candidate right after its response is posted. The disagreements found follow in messages of their own,
// gathered over up to SHADOW_POST_MS (or SHADOW_POST_MAX of them): a message for each batch cost the
// request thread a message event for each.
import { parentPort, workerData } from 'node:worker_threads';
import {
  compilePolicies,
  createEngine,
  decisionIdGenerator,
  type AuthorizeRequest,
  type Decision,
  type Engine,
  type PolicySet,
  type SourceFile,
} from '../../engine/index.js';
import { compareBatch, type Disagreement, encodeDisagreements } from '../shadow/disagreement.js';
import { type ChangedScope, changedScope } from '../shadow/changed-scope.js';
import { BatchRequest } from '../../api/authorize.js';
import { bodySchema } from '../body/body-schema.js';
import { decideBatch } from './decide-batch.js';
import type { PoolReply, PoolRequest } from './decision-pool.js';
import { transferList } from '../decision-log/batch.js';

const { batchLimit, logRequests } = workerData as { batchLimit: number; logRequests: boolean };
const body = bodySchema(BatchRequest(batchLimit));
const newDecisionId = decisionIdGenerator();
let engine: Engine | undefined;
/** The shadow candidate, if any, and the buckets where it differs from the live set. */
let shadow: PolicySet | undefined;
let scope: ChangedScope | undefined;
const rescope = () => {
  scope = shadow && engine && changedScope(engine.policySet, shadow);
};

function compile(sources: SourceFile[], revision: string): PolicySet | undefined {
  try {
    const { policySet } = compilePolicies(sources);
    return policySet?.revision === revision ? policySet : undefined;
  } catch {
    return undefined;
  }
}

/** The batch just decided, kept to compare with the shadow candidate once its response is posted. */
const observed: { batch?: { requests: AuthorizeRequest[]; decisions: Decision[]; time: number } | undefined } = {};
const observe = (requests: AuthorizeRequest[], decisions: Decision[], time: number) => {
  observed.batch = { requests, decisions, time };
};
/** Decisions compared and not yet reported, and the disagreements found among them not yet posted. */
let compared = 0;
let found: Disagreement[] = [];
let postTimer: NodeJS.Timeout | undefined;
const SHADOW_POST_MS = 50;
const SHADOW_POST_MAX = 256;
/** Posts the disagreements found so far, with the count of decisions compared. */
const postFound = () => {
  clearTimeout(postTimer);
  postTimer = undefined;
  if (found.length === 0) return;
  port.postMessage({ kind: 'shadowed', compared, disagreements: encodeDisagreements(found) } satisfies PoolReply);
  found = [];
  compared = 0;
};
const takeObserved = () => {
  const { batch } = observed;
  observed.batch = undefined;
  return batch;
};

const port = parentPort!;
port.on('message', (m: PoolRequest) => {
  if (m.kind === 'policies') {
    const set = compile(m.sources, m.revision);
    engine = set && createEngine(set, { clock: Date.now, newDecisionId });
    rescope();
    port.postMessage({ kind: 'loaded', revision: engine?.revision } satisfies PoolReply);
    return;
  }
  if (m.kind === 'shadow') {
    shadow = m.candidate && compile(m.candidate.sources, m.candidate.revision);
    if (m.candidate && !shadow)
      port.postMessage({ kind: 'shadow-failed', revision: m.candidate.revision } satisfies PoolReply);
    rescope();
    return;
  }
  if (m.kind === 'sync') {
    postFound();
    port.postMessage({ kind: 'synced', id: m.id, compared } satisfies PoolReply);
    compared = 0;
    return;
  }
  port.postMessage(...reply(m.id, m.text, m.revision));
  const batch = takeObserved(); // set by decideBatch through `observe` when the thread decided the batch
  if (shadow && batch) {
    const disagreements = compareBatch(shadow, batch.requests, batch.decisions, batch.time, scope);
    compared += batch.requests.length;
    // Only disagreements cost a message (the count rides along, or on the next `sync`).
    if (disagreements.length > 0) {
      for (const d of disagreements) found.push(d);
      if (found.length >= SHADOW_POST_MAX) postFound();
      else postTimer ??= setTimeout(postFound, SHADOW_POST_MS);
    }
  }
});

function reply(id: number, text: string, revision: string): [PoolReply, ArrayBuffer[]?] {
  if (engine?.revision !== revision) return [{ kind: 'undecided', id, why: 'revision' }];
  try {
    const decided = decideBatch(text, {
      engine,
      body,
      keys: undefined,
      clock: Date.now,
      now: () => performance.now(),
      logRequests,
      observe: shadow && observe,
    });
    if ('needsKeyStore' in decided) return [{ kind: 'undecided', id, why: 'key store' }];
    if ('refused' in decided) return [{ kind: 'undecided', id, why: 'refused' }];
    return [{ kind: 'decided', id, decided }, transferList(decided.log)];
  } catch {
    return [{ kind: 'undecided', id, why: 'refused' }]; // a 400, which the request thread words
  }
}
