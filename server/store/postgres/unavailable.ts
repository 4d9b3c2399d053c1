// Which failures mean the store could not be reached (an outage: StoreUnavailableError, answered 503
// `store_unavailable`), as opposed to a mistake in a statement or in the caller's data (a bug, rethrown).
import { StoreUnavailableError } from '../stores.js';
import { messageOf } from './mirror.js';

/** SQLSTATEs of a server that cannot serve us now: connection exceptions, shutdown, no connection slots. */
const UNREACHABLE_STATES = /^(08|57P0[123]|53300|3D000|28)/;

export function isUnreachable(e: unknown): boolean {
  if (!(e instanceof Error) || e instanceof StoreUnavailableError) return false;
  const { code, severity } = e as { code?: unknown; severity?: unknown };
  if (severity !== undefined) return typeof code === 'string' && UNREACHABLE_STATES.test(code);
  // The client's own errors: a socket error (ECONNREFUSED, ECONNRESET, …) or pg's words for a lost
  // connection, a connect timeout, a closed client or pool.
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true;
  return /connection|terminated|timeout exceeded|Client was closed|not queryable|after calling end/i.test(e.message);
}

/** Runs `work`; a failure to reach the store becomes StoreUnavailableError, anything else is rethrown. */
export async function reaching<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (isUnreachable(e)) throw new StoreUnavailableError(`the store is unreachable: ${messageOf(e)}`, { cause: e });
    throw e;
  }
}
