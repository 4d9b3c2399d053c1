// The central decision log in PostgreSQL (migration 2): the rows of every sidecar's SQLite log, each once.
// Blocks are shipped as their stored JSON (decision-log/blocks.ts) and unfolded by PostgreSQL with
// expressions made from the row's table of fields (row.ts), so the sidecar does no per-row work and the
// layout is defined in one place. The same statement stores the blocks as they are and where their chain
// starts (migration 7), which makes the central copy verifiable (central-chain.ts). A decision id, or a
// block, already held is skipped: shipping twice is harmless.
import type { StoredBlock } from '../../decision-log/blocks.js';
import type { ChainAnchor, ChainReport, ExpectedHead } from '../../decision-log/chain.js';
import { decisionConditions, DEFAULT_LIMIT, type DecisionQuery } from '../../decision-log/decision-query.js';
import { FIELDS, type Field, readRow, type LoggedDecision } from '../../decision-log/row.js';
import type { DecisionReader } from '../stores.js';
import { verifyCentralLog } from './central-chain.js';
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
 * One statement for any number of blocks: `$1` the log's chain id, `$2` a JSON array of the blocks as
 * `{ "s": first seq, "t": base time, "n": names, "d": rows }`, `$3`–`$6` the chain's anchor, `$7`–`$16`
 * the blocks' stored columns as arrays.
 */
const INSERT_BLOCKS = `WITH chain AS (
  INSERT INTO decision_log_chains VALUES ($1, $3, $4, $5, $6) ON CONFLICT (chain_id) DO NOTHING
), blocks AS (
  INSERT INTO decision_log_blocks
  SELECT $1, * FROM unnest($7::bigint[], $8::int[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[],
    $13::text[], $14::bytea[], $15::bytea[], $16::bytea[])
  ON CONFLICT (chain_id, first_seq) DO NOTHING
)
INSERT INTO decision_log (${COLUMNS.join(', ')}, log_id, seq)
SELECT ${(FIELDS as readonly Field[]).map(unfold).join(', ')}, $1, (b.value ->> 's')::bigint + r.ordinality - 1
FROM jsonb_array_elements($2::jsonb) b, jsonb_array_elements(b.value -> 'd') WITH ORDINALITY r
ON CONFLICT (id) DO NOTHING`;

/**
 * The blocks as one JSON text: their stored names and rows are JSON already and go in as they are.
 * PostgreSQL's text cannot hold U+0000, so an escaped one (only an id or a stored request can hold it)
 * is shipped as U+FFFD.
 */
export function blocksJson(blocks: readonly StoredBlock[]): string {
  return centralJson(
    `[${blocks.map((b) => `{"s":${b.firstSeq},"t":${b.baseTime},"n":${b.names},"d":${b.data}}`).join(',')}]`,
  );
}

/** JSON text as decision_log's jsonb can hold it: an escaped U+0000 becomes U+FFFD. */
export function centralJson(json: string): string {
  return json.includes('\\u0000') ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : json;
}

/**
 * Ships blocks of the chain `anchor.chainId` in one statement, with the chain's anchor (kept from the
 * first shipment on); returns the decisions the central log did not hold yet.
 */
export async function insertBlocks(
  client: Pool | PoolClient,
  anchor: ChainAnchor,
  blocks: readonly StoredBlock[],
): Promise<number> {
  if (blocks.length === 0) return 0;
  const column = <T>(f: (b: StoredBlock) => T) => blocks.map(f);
  const bytes = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const result = await client.query(INSERT_BLOCKS, [
    anchor.chainId,
    blocksJson(blocks),
    anchor.startSeq,
    bytes(anchor.startHash),
    anchor.droppedBlocks,
    anchor.droppedDecisions,
    column((b) => b.firstSeq),
    column((b) => b.rows),
    column((b) => b.baseTime),
    column((b) => b.firstTime),
    column((b) => b.lastTime),
    column((b) => b.names),
    column((b) => b.data),
    column((b) => bytes(b.ids)),
    column((b) => bytes(b.prevHash)),
    column((b) => bytes(b.hash)),
  ]);
  return result.rowCount ?? 0;
}

/** The central table's columns as `readRow` reads the SQLite view's (numbers as numbers, JSON as text). */
export const SELECT_ROW = (FIELDS as readonly Field[])
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

  /** Every chain shipped here, and decision_log's rows against their blocks (central-chain.ts). */
  verify(expected?: readonly ExpectedHead[]): Promise<ChainReport[]> {
    return verifyCentralLog(this.pool, expected);
  }
}
