// Re-deciding a decision log with other policies (`diff --replay`, `ci --replay`): the log is read through
// the store's DecisionReader; a decision is replayable when the sidecar logged its request (serve
// --log-requests) and the principal was not a credential it could not resolve.
import type { AuthorizeRequest, PolicySet } from '../engine/index.js';
import { replayDecisions, type ReplayFlip } from '../engine/diff/index.js';
import { NoStoreError, openSqliteStores } from '../server/store/open-stores.js';
import { decisionsIn } from './decision-pages.js';
import { UsageError } from './io.js';

export interface Replay {
  file: string;
  /** Decisions in the log. */
  logged: number;
  /** Those with their request, re-decided. */
  replayable: number;
  flips: ReplayFlip[];
}

export async function replayLog(file: string, set: PolicySet): Promise<Replay> {
  let stores: ReturnType<typeof openSqliteStores>;
  try {
    stores = openSqliteStores({ db: file, create: false });
  } catch (e) {
    if (e instanceof NoStoreError) throw new UsageError(`${file}: no such database`);
    throw e;
  }
  const rows: { decisionId: string; time: number; outcome: 'allow' | 'deny'; request: AuthorizeRequest }[] = [];
  let logged = 0;
  try {
    for await (const d of decisionsIn(stores.decisions, {})) {
      logged++;
      if (d.request === undefined || d.principalType === 'credential') continue;
      rows.push({
        decisionId: d.decisionId,
        time: Date.parse(d.time),
        outcome: d.outcome,
        request: d.request as AuthorizeRequest,
      });
    }
  } finally {
    await stores.close();
  }
  return { file, logged, replayable: rows.length, flips: replayDecisions(set, rows) };
}
