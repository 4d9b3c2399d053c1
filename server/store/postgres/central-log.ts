// The central decision log in PostgreSQL (migration 2): the rows of every sidecar's SQLite log, each once.
// Blocks are shipped as their stored JSON (decision-log/blocks.ts) and unfolded by PostgreSQL with
// expressions made from the row's table of fields (row.ts), so the sidecar does no per-row work and the
// layout is defined in one place. A decision id already held is skipped: shipping twice is harmless.
import type { StoredBlock } from '../../decision-log/blocks.js';
import { decisionConditions, DEFAULT_LIMIT, type DecisionQuery } from '../../decision-log/decision-query.js';
import { FIELDS, type Field, readRow, type LoggedDecision } from '../../decision-log/row.js';
import type { DecisionReader } from '../stores.js';
import type { Pool, PoolClient } from './connection.js';

/** A row's field `i` as the central table's column, from its JSON array `r` in block `b` (jsonb). */
function unfold(f: Field, i: number): string {
  const v = `(r.value ->> ${i})`;
  return {
    id: v,
    name: `(b.value -> 'n') ->> ${v}::int`,
    time: `(b.value ->> 't')::bigint + ${v}::bigint`,
    outcome: `CASE ${v} WHEN '1' THEN 'allow' ELSE 'deny' END`,
    latency: `${v}::float8 / 1000`,
    json: `nullif(r.value -> ${i}, 'null'::jsonb)`,
  }[f.kind];
}

const COLUMNS = (FIELDS as readonly Field[]).map((f) => f.column);

/**
 * One statement for any number of blocks: `$1` the log's id, `$2` a JSON array of the blocks as
 * `{ "s": first seq, "t": base time, "n": names, "d": rows }`.
 */
const INSERT_BLOCKS = `INSERT INTO decision_log (${COLUMNS.join(', ')}, log_id, seq)
SELECT ${(FIELDS as readonly Field[]).map(unfold).join(', ')}, $1, (b.value ->> 's')::bigint + r.ordinality - 1
FROM jsonb_array_elements($2::jsonb) b, jsonb_array_elements(b.value -> 'd') WITH ORDINALITY r
ON CONFLICT (id) DO NOTHING`;

/**
 * The blocks as one JSON text: their stored names and rows are JSON already and go in as they are.
 * PostgreSQL's text cannot hold U+0000, so an escaped one (only an id or a stored request can hold it)
 * is shipped as U+FFFD.
 */
export function blocksJson(blocks: readonly StoredBlock[]): string {
  const json = `[${blocks.map((b) => `{"s":${b.firstSeq},"t":${b.baseTime},"n":${b.names},"d":${b.data}}`).join(',')}]`;
  return json.includes('\\u0000') ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : json;
}

/** Ships blocks of the log `logId` in one transaction; returns the decisions the central log did not hold yet. */
export async function insertBlocks(
  client: Pool | PoolClient,
  logId: string,
  blocks: readonly StoredBlock[],
): Promise<number> {
  if (blocks.length === 0) return 0;
  const result = await client.query(INSERT_BLOCKS, [logId, blocksJson(blocks)]);
  return result.rowCount ?? 0;
}

/** The central table's columns as `readRow` reads the SQLite view's (numbers as numbers, JSON as text). */
const SELECT_ROW = (FIELDS as readonly Field[])
  .map((f) =>
    f.kind === 'time'
      ? `${f.column}::float8 AS ${f.column}`
      : f.kind === 'json'
        ? `${f.column}::text AS ${f.column}`
        : f.column,
  )
  .join(', ');

/** `fleetguard audit --store postgres://…`: the central log, with the filters the SQLite log takes. */
export class PgDecisionReader implements DecisionReader {
  constructor(private readonly pool: Pool) {}

  async query(q: DecisionQuery): Promise<LoggedDecision[]> {
    const { where, params } = decisionConditions(q, (n) => `$${n}`);
    const sql = `SELECT ${SELECT_ROW} FROM decision_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY time, log_id, seq LIMIT $${params.length + 1}`;
    const { rows } = await this.pool.query(sql, [...params, q.limit ?? DEFAULT_LIMIT]);
    return rows.map(readRow);
  }
}
