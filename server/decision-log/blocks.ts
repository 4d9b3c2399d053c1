// The decision log in SQLite: one row of `decision_blocks` per block of decisions (block.ts), their rows
// as a JSON array that the `decisions` view unfolds with `json_each` (row.ts). Writing a block is one
// insert whatever its size. There is no index by principal or resource (the writer is on the machine's
// hot path, an audit query is not): a query unfolds the blocks of its time range whose id filter may hold
// the principal or resource asked for (id-filter.ts; bench/log-bench.ts measures both sides).
// Every write is one IMMEDIATE transaction, so sidecars sharing the file never race on `seq` or on the
// hash chain (chain.ts): a block's hash follows on from the last block's, or from where `decision_chain`
// says the chain starts when retention left none.
import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database.js';
import type { LogBatch } from './batch.js';
import { encodeBlocks, type LogBlock } from './block.js';
import {
  type ChainAnchor,
  type ChainedBlock,
  type ChainReport,
  contentHash,
  type ExpectedHead,
  GENESIS,
  headsByChain,
  linkHash,
  missingChain,
  verifyChain,
} from './chain.js';
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

/**
 * The hash chain's columns and where it starts (migration 6; additive: the blocks already written are
 * chained as they stand, from the genesis).
 */
export function addDecisionChain(db: Db): void {
  db.exec(`ALTER TABLE decision_blocks ADD COLUMN prev_hash BLOB;
ALTER TABLE decision_blocks ADD COLUMN hash BLOB;
CREATE TABLE decision_chain (
  chain_id TEXT PRIMARY KEY,
  start_seq INTEGER NOT NULL,
  start_hash BLOB NOT NULL,
  dropped_blocks INTEGER NOT NULL DEFAULT 0,
  dropped_decisions INTEGER NOT NULL DEFAULT 0,
  pruned_at INTEGER
);`);
  const first = db.prepare('SELECT min(first_seq) FROM decision_blocks').pluck().get() as number | null;
  db.prepare('INSERT INTO decision_chain (chain_id, start_seq, start_hash) VALUES (?, ?, ?)').run(
    randomUUID(),
    first ?? 1,
    GENESIS,
  );
  const anchor = readAnchor(db);
  const update = db.prepare('UPDATE decision_blocks SET prev_hash = ?, hash = ? WHERE first_seq = ?');
  let prev: Uint8Array = anchor.startHash;
  for (const b of chainedBlocks(db).all() as ChainedBlock[]) {
    const hash = linkHash(anchor.chainId, b.firstSeq, prev, contentHash(b));
    update.run(prev, hash, b.firstSeq);
    prev = hash;
  }
}

/** The blocks as stored, in chain order, as ChainedBlock (text columns as their bytes). */
function chainedBlocks(db: Db) {
  return db.prepare(
    `SELECT first_seq AS firstSeq, rows, base_time AS baseTime, first_time AS firstTime, last_time AS lastTime,
       CAST(names AS BLOB) AS names, CAST(data AS BLOB) AS data, ids, prev_hash AS prevHash, hash
     FROM decision_blocks ORDER BY first_seq`,
  );
}

/** Where the log's chain starts (`decision_chain`). */
export function readAnchor(db: Db): ChainAnchor {
  const row = db
    .prepare(
      `SELECT chain_id AS chainId, start_seq AS startSeq, start_hash AS startHash, dropped_blocks AS droppedBlocks,
         dropped_decisions AS droppedDecisions FROM decision_chain`,
    )
    .get() as ChainAnchor | undefined;
  if (!row) throw new Error('the decision log has no chain (decision_chain is empty)');
  return row;
}

/** Verifies the log's chain (chain.ts) in one read transaction, so a writer or retention meanwhile changes nothing seen. */
export function verifyDecisionChain(db: Db, expectHead?: string): ChainReport {
  return db.transaction(() =>
    verifyChain(readAnchor(db), chainedBlocks(db).iterate() as Iterable<ChainedBlock>, expectHead),
  )();
}

/**
 * DecisionReader.verify of a file, which holds one chain: the report on it, and on any other chain an
 * expected head names (a chain the file does not hold).
 */
export function verifyDecisionChains(db: Db, expected: readonly ExpectedHead[] = []): ChainReport[] {
  const heads = headsByChain([readAnchor(db).chainId], expected);
  const report = verifyDecisionChain(db, heads.get(readAnchor(db).chainId));
  heads.delete(report.chainId);
  return [report, ...[...heads].map(([chainId, hash]) => missingChain(chainId, hash))];
}

/** The chain's head as it stands: the last block's hash and the seq after it (where the chain starts when no block is kept). */
export function chainHead(db: Db): { chainId: string; nextSeq: number; hash: Uint8Array } {
  return db.transaction(() => {
    const anchor = readAnchor(db);
    const last = db
      .prepare('SELECT first_seq + rows, hash FROM decision_blocks ORDER BY first_seq DESC LIMIT 1')
      .raw()
      .get() as [number, Uint8Array] | undefined;
    return { chainId: anchor.chainId, nextSeq: last?.[0] ?? anchor.startSeq, hash: last?.[1] ?? anchor.startHash };
  })();
}

export class BlockWriter {
  private readonly chainId: string;
  private readonly insert;
  private readonly lastBlock;
  private readonly start;
  private readonly write;

  constructor(
    db: Db,
    private readonly blockRows: number,
  ) {
    this.chainId = readAnchor(db).chainId;
    // The text arrives as UTF-8 bytes and is stored as TEXT, so SQLite's JSON functions read it.
    this.insert = db.prepare(
      `INSERT INTO decision_blocks (first_seq, rows, base_time, first_time, last_time, names, data, ids, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?, ?)`,
    );
    this.lastBlock = db
      .prepare('SELECT first_seq + rows, hash FROM decision_blocks ORDER BY first_seq DESC LIMIT 1')
      .raw();
    this.start = db.prepare('SELECT start_seq, start_hash FROM decision_chain').raw();
    this.write = db.transaction((blocks: readonly LogBlock[], contents: readonly Uint8Array[]) => {
      let [seq, prev] = (this.lastBlock.get() ?? this.start.get()) as [number, Uint8Array | null];
      // A last block without a hash (the file was tampered with: `--verify` names it) must not stop the log.
      prev ??= GENESIS;
      for (let i = 0; i < blocks.length; i++) {
        const b = blocks[i]!;
        const hash = linkHash(this.chainId, seq, prev, contents[i]!);
        this.insert.run(seq, b.rows, b.baseTime, b.firstTime, b.lastTime, b.names, b.data, b.ids, prev, hash);
        prev = hash;
        seq += b.rows;
      }
    });
  }

  /**
   * Writes batches in one transaction under the write lock. Encoding and the content hashes come before
   * taking it; under it, only the short hashes that link each block to the one before.
   */
  append(batches: readonly LogBatch[]): void {
    const blocks = encodeBlocks(batches, this.blockRows);
    if (blocks.length === 0) return;
    const contents = blocks.map((b) => contentHash({ ...b, names: Buffer.from(b.names, 'utf8') }));
    this.write.immediate(blocks, contents);
  }
}

/**
 * Retention: drops the blocks at the front of the chain whose newest decision is older than `cutoff`,
 * up to the first block that is not (so a block is never removed from the middle, whatever the clocks
 * did), and records where the chain now starts: the first kept block's seq and the hash it follows on
 * from. With `keepFrom` (the seq a shipper has shipped up to) the front stops too at the first block
 * holding a row at or after it, and at the newest block. Returns the decisions dropped.
 */
export function dropDecisionsBefore(db: Db, cutoff: number, now: number, keepFrom?: number): number {
  return db
    .transaction(() => {
      const firstKept =
        keepFrom === undefined
          ? db
              .prepare('SELECT first_seq FROM decision_blocks WHERE last_time >= ? ORDER BY first_seq LIMIT 1')
              .pluck()
              .get(cutoff)
          : db
              .prepare(
                `SELECT first_seq FROM decision_blocks WHERE last_time >= ? OR first_seq + rows > ?
                   OR first_seq = (SELECT max(first_seq) FROM decision_blocks) ORDER BY first_seq LIMIT 1`,
              )
              .pluck()
              .get(cutoff, keepFrom);
      const kept = firstKept as number | undefined;
      const lastDropped = db
        .prepare(
          `SELECT first_seq + rows, hash FROM decision_blocks ${kept === undefined ? '' : 'WHERE first_seq < ?'} ORDER BY first_seq DESC LIMIT 1`,
        )
        .raw()
        .get(...(kept === undefined ? [] : [kept])) as [number, Uint8Array] | undefined;
      if (!lastDropped) return 0;
      const [after, hash] = lastDropped;
      const rows = db
        .prepare('DELETE FROM decision_blocks WHERE first_seq < ? RETURNING rows')
        .pluck()
        .all(kept ?? after) as number[];
      const decisions = rows.reduce((a, b) => a + b, 0);
      db.prepare(
        `UPDATE decision_chain SET start_seq = ?, start_hash = ?, dropped_blocks = dropped_blocks + ?,
         dropped_decisions = dropped_decisions + ?, pruned_at = ?`,
      ).run(kept ?? after, hash, rows.length, decisions, now);
      return decisions;
    })
    .immediate();
}

/** A block as stored, for copying the log elsewhere (its rows are the JSON arrays of row.ts). */
export interface StoredBlock {
  firstSeq: number;
  rows: number;
  baseTime: number;
  firstTime: number;
  lastTime: number;
  /** JSON array of the names the rows' codes index. */
  names: string;
  /** JSON array of the rows. */
  data: string;
  ids: Uint8Array | null;
  prevHash: Uint8Array | null;
  hash: Uint8Array | null;
}

/** The blocks holding rows at or after `seq`, oldest first, until they hold `maxRows` rows (at least one block). */
export function readBlocksFrom(db: Db, seq: number, maxRows: number): StoredBlock[] {
  const blocks: StoredBlock[] = [];
  let rows = 0;
  const all = db
    .prepare(
      `SELECT first_seq AS firstSeq, rows, base_time AS baseTime, first_time AS firstTime, last_time AS lastTime,
         names, data, ids, prev_hash AS prevHash, hash FROM decision_blocks
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

/**
 * The log's chain as a copy of it starting at the block `firstSeq` starts (a central copy whose first
 * shipment began there): its start is that block's seq and previous hash, and what comes before it, removed
 * by retention or never copied, counts as dropped.
 */
export function anchorAt(db: Db, block: Pick<StoredBlock, 'firstSeq' | 'prevHash'>): ChainAnchor {
  const anchor = readAnchor(db);
  const [blocks, decisions] = db
    .prepare('SELECT count(*), coalesce(sum(rows), 0) FROM decision_blocks WHERE first_seq < ?')
    .raw()
    .get(block.firstSeq) as [number, number];
  return {
    chainId: anchor.chainId,
    startSeq: block.firstSeq,
    startHash: block.prevHash ?? GENESIS,
    droppedBlocks: anchor.droppedBlocks + blocks,
    droppedDecisions: anchor.droppedDecisions + decisions,
  };
}

/** The seq the next decision written will have (where the chain starts when no block is kept: 1 for a new log). */
export function nextSeq(db: Db): number {
  return chainHead(db).nextSeq;
}
