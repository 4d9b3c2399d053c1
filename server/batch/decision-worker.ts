// A decision thread (decision-pool.ts): compiles the policy sets the request thread serves and decides
// whole batches from their text. Anything it cannot answer with a 200 (a bad body, a key to resolve, a
// revision it does not hold, an error) goes back undecided, and the request thread answers it.
import { parentPort, workerData } from 'node:worker_threads';
import {
  compilePolicies,
  createEngine,
  decisionIdGenerator,
  type Engine,
  type SourceFile,
} from '../../engine/index.js';
import { BatchRequest, jsonSchema } from '../schemas.js';
import { decideBatch } from './decide-batch.js';
import { compileBodyValidator } from './json-body.js';
import type { PoolReply, PoolRequest } from './decision-pool.js';
import { transferList } from '../store/log-batch.js';

const { batchLimit, logRequests } = workerData as { batchLimit: number; logRequests: boolean };
const schema = BatchRequest(batchLimit);
const validate = compileBodyValidator(jsonSchema(schema));
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
  if (engine?.revision !== m.revision) {
    port.postMessage({ kind: 'decided', id: m.id } satisfies PoolReply);
    return;
  }
  try {
    const decided = decideBatch(m.text, { engine, validate, schema, keys: undefined, clock: Date.now, logRequests });
    port.postMessage({ kind: 'decided', id: m.id, decided } satisfies PoolReply, transferList(decided.log));
  } catch {
    port.postMessage({ kind: 'decided', id: m.id } satisfies PoolReply);
  }
});
