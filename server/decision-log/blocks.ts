// The decision log in SQLite: one row of `decision_blocks` per block of decisions (block.ts), their rows
// as a JSON array that the `decisions` view unfolds with `json_each` (row.ts). Writing a block is one
// insert whatever its size. There is no index by principal or resource (the writer is on the machine's
// hot path, an audit query is not): a query unfolds the blocks of its time range whose id filter may hold
// the principal or resource asked for (id-filter.ts; bench/log-bench.ts measures both sides).
// Every write is one IMMEDIATE transaction, so sidecars sharing the file never race on `seq`.
import type { Db } from '../store/database.js';
import type { LogBatch } from './batch.js';
import { encodeBlocks, type LogBlock } from './block.js';
import { mayHold } from './id-filter.js';
import { DECISIONS_VIEW, unfoldBlocksSql } from './row.js';

/** The log's schema (migration 1). */
export const DECISION_LOG_DDL = `CREATE TABLE decision_blocks (
  first_seq INTEGER PRIMARY KEY,
  rows INTEGER NOT NULL,
  base_time INTEGER NOT NULL,
  first_time INTEGER NOT NULL,
  last_time INTEGER NOT NULL,
  names TEXT NOT NULL,
  data TEXT NOT NULL,
  ids BLOB
);
${DECISIONS_VIEW};`;

/** What a query may skip whole blocks by: their time range, and the ids their filters may hold. */
export interface BlockFilter {
  since?: number | undefined;
  until?: number | undefined;
  principal?: string | undefined;
  resource?: string | undefined;
}

/**
 * The decisions of the blocks `filter` does not rule out, as SQL and its parameters. The id filters are
 * tested here rather than in SQL, so the database needs no function of ours.
 */
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
  const ids = (['principal', 'resource'] as const).filter((kind) => filter[kind] !== undefined);
  if (ids.length > 0) {
    const candidates = db
      .prepare(`SELECT first_seq, ids FROM decision_blocks b ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`)
      .raw()
      .all(...params) as [number, Uint8Array | null][];
    const held = candidates.filter(([, bits]) => ids.every((kind) => mayHold(bits, kind, filter[kind]!)));
    where.push('b.first_seq IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(held.map(([seq]) => seq)));
  }
  return { sql: unfoldBlocksSql(where.length ? `WHERE ${where.join(' AND ')}` : ''), params };
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
    this.write = db.transaction((blocks: readonly LogBlock[]) => {
      let seq = (this.lastBlock.get() as number | undefined) ?? 1;
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

/**
 * Drops the decisions older than `cutoff`: whole blocks whose newest row is older. With `keepFrom` (the
 * seq a shipper has shipped up to) no block holding a row at or after it is dropped, and neither is the
 * newest block, so the next block's seq follows on from it and a cursor into the log stays valid.
 */
export function dropDecisionsBefore(db: Db, cutoff: number, keepFrom?: number): number {
  const rows = (
    keepFrom === undefined
      ? db.prepare('DELETE FROM decision_blocks WHERE last_time < ? RETURNING rows').pluck().all(cutoff)
      : db
          .prepare(
            `DELETE FROM decision_blocks WHERE last_time < ? AND first_seq + rows <= ?
               AND first_seq < (SELECT max(first_seq) FROM decision_blocks) RETURNING rows`,
          )
          .pluck()
          .all(cutoff, keepFrom)
  ) as number[];
  return rows.reduce((a, b) => a + b, 0);
}

/** A block as stored, for copying the log elsewhere (its rows are the JSON arrays of row.ts). */
export interface StoredBlock {
  firstSeq: number;
  rows: number;
  baseTime: number;
  /** JSON array of the names the rows' codes index. */
  names: string;
  /** JSON array of the rows. */
  data: string;
}

/** The blocks holding rows at or after `seq`, oldest first, until they hold `maxRows` rows (at least one block). */
export function readBlocksFrom(db: Db, seq: number, maxRows: number): StoredBlock[] {
  const blocks: StoredBlock[] = [];
  let rows = 0;
  const all = db
    .prepare(
      `SELECT first_seq AS firstSeq, rows, base_time AS baseTime, names, data FROM decision_blocks
       WHERE first_seq + rows > ? ORDER BY first_seq`,
    )
    .iterate(seq) as IterableIterator<StoredBlock>;
  for (const block of all) {
    blocks.push(block);
    rows += block.rows;
    if (rows >= maxRows) break;
  }
  return blocks;
}

/** The seq the next decision written will have (1 for an empty log). */
export function nextSeq(db: Db): number {
  return (
    (db.prepare('SELECT first_seq + rows FROM decision_blocks ORDER BY first_seq DESC LIMIT 1').pluck().get() as
      | number
      | undefined) ?? 1
  );
}
