// The decision log in SQLite since migration 5: one row of `decision_blocks` per block of decisions
// (log-block.ts), their rows as a JSON array that the `decisions` view unfolds with `json_each`, after
// the rows of the partitions written before (decision-partitions.ts). Writing a block is one insert
// whatever its size. There is no index by principal or resource (the writer is on the machine's hot
// path, an audit query is not): a query unfolds the blocks of its time range whose id filter may hold
// the principal or resource asked for (id-filter.ts; bench/log-bench.ts measures both sides).
// Every write is one IMMEDIATE transaction, so sidecars sharing the file never race on `seq`, which stays
// global and increasing across partitions and blocks.
import type { Db } from './database.js';
import { dropPartitionsBefore, legacyMaxSeq, partitionsSql } from './decision-partitions.js';
import { mayHold, type IdKind } from './id-filter.js';
import type { LogBatch } from './log-batch.js';
import { encodeBlocks, type LogBlock } from './log-block.js';

export const BLOCKS_DDL = `CREATE TABLE decision_blocks (
  first_seq INTEGER PRIMARY KEY,
  rows INTEGER NOT NULL,
  base_time INTEGER NOT NULL,
  first_time INTEGER NOT NULL,
  last_time INTEGER NOT NULL,
  names TEXT NOT NULL,
  data TEXT NOT NULL,
  ids BLOB
);`;

/** Blocks' rows in the columns of migration 1; `where` picks the blocks to unfold. */
function blocksSql(where = ''): string {
  const v = (i: number) => `r.value ->> ${i}`;
  const name = (i: number) => `b.names ->> (${v(i)})`;
  return `SELECT b.first_seq + r.key AS seq, ${v(0)} AS id, b.base_time + ${v(1)} AS time,
     ${name(2)} AS principal_type, ${v(3)} AS principal_id, ${name(4)} AS action, ${name(5)} AS resource_type,
     ${v(6)} AS resource_id, CASE ${v(7)} WHEN 1 THEN 'allow' ELSE 'deny' END AS outcome, ${name(8)} AS matched,
     ${name(9)} AS policy_revision, ${v(10)} / 1000.0 AS latency_us, nullif(r.value -> 11, 'null') AS errors, r.value -> 12 AS request
     FROM decision_blocks b, json_each(b.data) r ${where}`;
}

/** What a query may skip whole blocks by: their time range, and the ids their filters may hold. */
export interface BlockFilter {
  since?: number | undefined;
  until?: number | undefined;
  principal?: string | undefined;
  resource?: string | undefined;
}

/** Every decision, as SQL and its parameters; blocks that `filter` rules out are not unfolded. */
export function decisionsSql(db: Db, filter: BlockFilter = {}): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.since !== undefined) {
    where.push('b.last_time >= ?');
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push('b.first_time < ?');
    params.push(filter.until);
  }
  for (const kind of ['principal', 'resource'] as const) {
    if (filter[kind] === undefined) continue;
    where.push(`${MAY_HOLD}(b.ids, '${kind}', ?)`);
    params.push(filter[kind]);
  }
  if (where.length > 0) registerMayHold(db);
  const blocks = blocksSql(where.length ? `WHERE ${where.join(' AND ')}` : '');
  return { sql: [...partitionsSql(db), blocks].join(' UNION ALL '), params };
}

/** The filter test as an SQL function, on connections that query with it (plain SQLite has not got it: the view does not use it). */
const MAY_HOLD = 'fleetguard_may_hold';
const registered = new WeakSet<Db>();
function registerMayHold(db: Db): void {
  if (registered.has(db)) return;
  db.function(MAY_HOLD, { deterministic: true }, (ids, kind, id) =>
    mayHold(ids as Uint8Array | null, kind as IdKind, id as string) ? 1 : 0,
  );
  registered.add(db);
}

export function rebuildDecisionsView(db: Db): void {
  db.exec('DROP VIEW IF EXISTS decisions');
  db.exec(`CREATE VIEW decisions AS ${decisionsSql(db).sql}`);
}

export class BlockWriter {
  private readonly insert;
  private readonly lastBlock;
  private readonly write;

  constructor(
    db: Db,
    private readonly blockRows: number,
  ) {
    // The text arrives as UTF-8 bytes and is stored as TEXT, so SQLite's JSON functions read it.
    this.insert = db.prepare('INSERT INTO decision_blocks VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?)');
    this.lastBlock = db.prepare('SELECT first_seq + rows FROM decision_blocks ORDER BY first_seq DESC LIMIT 1').pluck();
    const legacy = legacyMaxSeq(db);
    this.write = db.transaction((blocks: readonly LogBlock[]) => {
      let seq = (this.lastBlock.get() as number | undefined) ?? legacy + 1;
      for (const b of blocks) {
        this.insert.run(seq, b.rows, b.baseTime, b.firstTime, b.lastTime, b.names, b.data, b.ids);
        seq += b.rows;
      }
    });
  }

  /** Writes batches in one transaction under the write lock (encoded before taking it). */
  append(batches: readonly LogBatch[]): void {
    const blocks = encodeBlocks(batches, this.blockRows);
    if (blocks.length > 0) this.write.immediate(blocks);
  }
}

/** Drops the decisions older than `cutoff`: whole blocks (and partitions) whose newest row is older. */
export function dropDecisionsBefore(db: Db, cutoff: number): number {
  return db
    .transaction(() => {
      const blocks = db
        .prepare('DELETE FROM decision_blocks WHERE last_time < ? RETURNING rows')
        .pluck()
        .all(cutoff) as number[];
      const partitionRows = dropPartitionsBefore(db, cutoff);
      if (partitionRows > 0) rebuildDecisionsView(db);
      return blocks.reduce((a, b) => a + b, 0) + partitionRows;
    })
    .immediate();
}
