// A decision log file made by the sidecar's own sink: each request decided by a policy set at a chosen time,
// as `fleetguard serve` would log it (with the request itself when `logRequests`).
import { authorize, type AuthorizeRequest, type PolicySet } from '../../engine/index.js';
import { openSqliteStores } from '../../server/store/open-stores.js';

export async function writeDecisionLog(
  file: string,
  set: PolicySet,
  entries: { request: AuthorizeRequest; time: number }[],
  options: { logRequests: boolean },
): Promise<void> {
  const stores = openSqliteStores({ db: file });
  let now = 0;
  const sink = stores.openDecisionSink({
    flushMs: 50,
    queueMax: 1_000_000,
    overflow: 'block',
    retentionDays: 0,
    logRequests: options.logRequests,
    blockRows: 256,
    clock: () => now,
    warn: () => {},
  });
  try {
    entries.forEach(({ request, time }, i) => {
      now = time;
      sink.append(authorize(set, request, time, `log-${String(i).padStart(6, '0')}`), request, 3);
    });
    await sink.drain();
  } finally {
    await sink.close();
    await stores.close();
  }
}
