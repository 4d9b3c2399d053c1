// Blocks copied out of the log (a central copy) read back as decisions by the log's own decoder: the
// `decisions` view of a scratch SQLite database in memory, the very view `fleetguard audit --db` reads, so
// a copy's rows are checked against the blocks without a second reading of the format.
import Database from 'better-sqlite3';
import { DECISION_LOG_DDL, type StoredBlock } from './blocks.js';
import { readRow, type LoggedDecision } from './row.js';

export type BlockContent = Pick<
  StoredBlock,
  'firstSeq' | 'rows' | 'baseTime' | 'firstTime' | 'lastTime' | 'names' | 'data'
>;

export class BlockDecoder {
  private readonly db = new Database(':memory:');
  private readonly insert;
  private readonly read;
  private readonly clear;

  constructor() {
    this.db.exec(DECISION_LOG_DDL);
    this.insert = this.db.prepare(
      'INSERT INTO decision_blocks (first_seq, rows, base_time, first_time, last_time, names, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.read = this.db.prepare('SELECT * FROM decisions ORDER BY seq');
    this.clear = this.db.prepare('DELETE FROM decision_blocks');
  }

  /** The decisions `blocks` hold, each with its seq, in seq order. */
  decode(blocks: readonly BlockContent[]): (LoggedDecision & { seq: number })[] {
    return this.db.transaction(() => {
      this.clear.run();
      for (const b of blocks) this.insert.run(b.firstSeq, b.rows, b.baseTime, b.firstTime, b.lastTime, b.names, b.data);
      return (this.read.all() as Record<string, unknown>[]).map((row) => ({ ...readRow(row), seq: row.seq as number }));
    })();
  }

  close(): void {
    this.db.close();
  }
}
