// How far this file's decision log has been shipped to a shared store's central log: the seq of the first
// decision not yet shipped, kept in the file itself (migration 4) so a restart resumes where it stopped.
// The central log knows this file's log by its chain's id (chain.ts). A shipper advances the cursor only
// after the central store has committed what it shipped (at least once; the central log ignores a
// decision id and a block it holds, so once).
import type { Db } from '../store/database.js';

export interface ShipCursor {
  /** The seq of the first decision not yet shipped. */
  shippedTo: number;
}

/** The cursor, made on first use: nothing shipped yet, so the log's every decision is to ship. */
export function readShipCursor(db: Db): ShipCursor {
  db.prepare('INSERT OR IGNORE INTO decision_log_ship (one, shipped_to) VALUES (1, 1)').run();
  return db.prepare('SELECT shipped_to AS shippedTo FROM decision_log_ship').get() as ShipCursor;
}

/** Records that every decision before `seq` is in the central log (never moves back). */
export function advanceShipCursor(db: Db, seq: number): void {
  db.prepare('UPDATE decision_log_ship SET shipped_to = max(shipped_to, ?)').run(seq);
}
