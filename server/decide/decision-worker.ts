// A decision thread (decision-pool.ts): compiles the policy sets the request thread serves and decides
// whole batches from their text. Anything it cannot answer with a 200 (a bad body, a key to resolve, a
// revision it does not hold, an error) goes back as data saying why it is undecided, and the request
// thread answers it: nothing is thrown across the thread boundary.
import { parentPort, workerData } from 'node:worker_threads';
import {
  compilePolicies,
  createEngine,
  decisionIdGenerator,
  type Engine,
  type SourceFile,
} from '../../engine/index.js';
import { BatchRequest } from '../../api/authorize.js';
import { bodySchema } from '../body/body-schema.js';
import { decideBatch } from './decide-batch.js';
import type { PoolReply, PoolRequest } from './decision-pool.js';
import { transferList } from '../decision-log/batch.js';

const { batchLimit, logRequests } = workerData as { batchLimit: number; logRequests: boolean };
const body = bodySchema(BatchRequest(batchLimit));
const newDecisionId = decisionIdGenerator();
let engine: Engine | undefined;

function load(sources: SourceFile[], revision: string): Engine | undefined {
  try {
    const { policySet } = compilePolicies(sources);
    return policySet?.revision === revision ? createEngine(policySet, { clock: Date.now, newDecisionId }) : undefined;
  } catch {
    return undefined;
  }
}

const port = parentPort!;
port.on('message', (m: PoolRequest) => {
  if (m.kind === 'policies') {
    engine = load(m.sources, m.revision);
    port.postMessage({ kind: 'loaded', revision: engine?.revision } satisfies PoolReply);
    return;
  }
  port.postMessage(...reply(m.id, m.text, m.revision));
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
    });
    if ('needsKeyStore' in decided) return [{ kind: 'undecided', id, why: 'key store' }];
    if ('refused' in decided) return [{ kind: 'undecided', id, why: 'refused' }];
    return [{ kind: 'decided', id, decided }, transferList(decided.log)];
  } catch {
    return [{ kind: 'undecided', id, why: 'refused' }]; // a 400, which the request thread words
  }
}
