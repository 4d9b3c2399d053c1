// What `fleetguard audit` filters the decision log by, defined once for every log that answers it: the
// sidecar's SQLite blocks (decision-log.ts) and the central log in PostgreSQL (store/postgres/central-log.ts).
// Each supplies its placeholders; the columns are the row's (row.ts).

export interface DecisionQuery {
  principal?: string;
  resource?: string;
  outcome?: 'allow' | 'deny';
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** Most decisions answered (1000 by default). */
  limit?: number;
}

export const DEFAULT_LIMIT = 1000;

/**
 * The conditions of `q` over the row's columns, each with its parameter; `placeholder(n)` writes the
 * n-th parameter of the statement (1-based, counting `before` parameters the caller already has).
 */
export function decisionConditions(
  q: DecisionQuery,
  placeholder: (n: number) => string,
  before = 0,
): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(placeholder(before + params.length)));
  };
  if (q.principal !== undefined) add((p) => `principal_id = ${p}`, q.principal);
  if (q.resource !== undefined) add((p) => `resource_id = ${p}`, q.resource);
  if (q.outcome !== undefined) add((p) => `outcome = ${p}`, q.outcome);
  if (q.since !== undefined) add((p) => `time >= ${p}`, q.since);
  if (q.until !== undefined) add((p) => `time < ${p}`, q.until);
  return { where, params };
}
