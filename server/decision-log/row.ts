// The decision log's row, defined once. This table of fields, in order, drives the batch a request fills
// (batch.ts), the JSON array a block stores per row (block.ts: element i is field i), the `decisions` view
// that unfolds the blocks (DECISIONS_VIEW) and the rows `fleetguard audit` prints (readRow).
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import type { IdKind } from './id-filter.js';

/**
 * How a field is carried and stored:
 * - `id`: text that differs per decision, copied as UTF-16 code units; stored as a JSON string.
 * - `name`: text that repeats (types, actions, rules, revisions), coded as an index into the names of
 *   its batch, then of its block; a `list` name holds comma-separated rule ids and reads back as a list.
 * - `time`: ms since the epoch, stored relative to the block's first row.
 * - `outcome`: 1 allow, 0 deny.
 * - `latency`: µs, stored as whole nanoseconds (an integer is cheap to write, and finer is noise).
 * - `json`: JSON text only some rows have (errors, the stored request); trailing ones are left out.
 */
export type Field =
  | { key: string; column: string; kind: 'id'; of: (d: Decision, r: AuthorizeRequest) => string; filter?: IdKind }
  | { key: string; column: string; kind: 'name'; of: (d: Decision, r: AuthorizeRequest) => string; list?: true }
  | { key: string; column: string; kind: 'time' | 'outcome' | 'latency' }
  | {
      key: string;
      column: string;
      kind: 'json';
      of: (d: Decision, r: AuthorizeRequest, logRequest: boolean) => string | null;
    };

export const FIELDS = [
  { key: 'decisionId', column: 'id', kind: 'id', of: (d) => d.decisionId },
  { key: 'time', column: 'time', kind: 'time' },
  { key: 'principalType', column: 'principal_type', kind: 'name', of: (_, r) => r.principal.type },
  { key: 'principalId', column: 'principal_id', kind: 'id', of: (_, r) => r.principal.id, filter: 'principal' },
  { key: 'action', column: 'action', kind: 'name', of: (_, r) => r.action },
  { key: 'resourceType', column: 'resource_type', kind: 'name', of: (_, r) => r.resource.type },
  { key: 'resourceId', column: 'resource_id', kind: 'id', of: (_, r) => r.resource.id, filter: 'resource' },
  { key: 'outcome', column: 'outcome', kind: 'outcome' },
  { key: 'matched', column: 'matched', kind: 'name', of: (d) => matchedRules(d), list: true },
  { key: 'policyRevision', column: 'policy_revision', kind: 'name', of: (d) => d.policyRevision },
  { key: 'latencyUs', column: 'latency_us', kind: 'latency' },
  {
    key: 'errors',
    column: 'errors',
    kind: 'json',
    of: (d) => (d.errors === undefined ? null : JSON.stringify(d.errors)),
  },
  {
    key: 'request',
    column: 'request',
    kind: 'json',
    of: (_, r, logRequest) => (logRequest ? JSON.stringify(r) : null),
  },
] as const satisfies readonly Field[];

export type Column = (typeof FIELDS)[number]['column'];

function matchedRules(d: Decision): string {
  const m = d.matched;
  return m.length === 0 ? '' : m.length === 1 ? m[0]!.rule : m.map((r) => r.rule).join(',');
}

/**
 * A batch carries one number a row for every field but the `json` ones (an id's number is its length
 * in the batch's code units), in the table's order; `SLOT[column]` is the field's place among them.
 */
export const NUMBER_FIELDS: readonly Field[] = (FIELDS as readonly Field[]).filter((f) => f.kind !== 'json');
export const NUMBERS_PER_ROW = NUMBER_FIELDS.length;
export const SLOT = Object.fromEntries(NUMBER_FIELDS.map((f, i) => [f.column, i])) as Record<Column, number>;
/** The `json` fields, in order: a row's extras hold their texts. */
export const JSON_FIELDS = (FIELDS as readonly Field[]).filter((f) => f.kind === 'json') as Extract<
  Field,
  { kind: 'json' }
>[];

/** Every row of the blocks `where` selects, as the columns of the `decisions` view (plain SQLite JSON functions). */
export function unfoldBlocksSql(where = ''): string {
  const columns = FIELDS.map((f, i) => {
    const v = `r.value ->> ${i}`;
    const sql = {
      id: v,
      name: `b.names ->> (${v})`,
      time: `b.base_time + ${v}`,
      outcome: `CASE ${v} WHEN 1 THEN 'allow' ELSE 'deny' END`,
      latency: `${v} / 1000.0`,
      json: `nullif(r.value -> ${i}, 'null')`,
    }[f.kind];
    return `${sql} AS ${f.column}`;
  });
  return `SELECT b.first_seq + r.key AS seq, ${columns.join(', ')} FROM decision_blocks b, json_each(b.data) r${where && ` ${where}`}`;
}

export const DECISIONS_VIEW = `CREATE VIEW decisions AS ${unfoldBlocksSql()}`;

/** A decision as `fleetguard audit` prints it (its `--json` schema). */
export interface LoggedDecision {
  decisionId: string;
  time: string;
  principalType: string;
  principalId: string;
  action: string;
  resourceType: string;
  resourceId: string;
  outcome: 'allow' | 'deny';
  matched: string[];
  policyRevision: string;
  latencyUs: number;
  errors?: unknown;
  request?: unknown;
}

/** A row of the `decisions` view as a LoggedDecision; `json` fields a row has not got are left out. */
export function readRow(row: Record<string, unknown>): LoggedDecision {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS as readonly Field[]) {
    const v = row[f.column];
    if (f.kind === 'json') {
      if (v !== null) out[f.key] = JSON.parse(v as string);
    } else if (f.kind === 'time') out[f.key] = new Date(v as number).toISOString();
    else if (f.kind === 'name' && f.list) out[f.key] = v === '' ? [] : (v as string).split(',');
    else out[f.key] = v;
  }
  return out as unknown as LoggedDecision;
}
