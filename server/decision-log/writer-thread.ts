// The decision log's writer thread: receives rows from the request thread and appends them to the
// log's blocks on its own connection; a failed write is retried, never dropped.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { rowsIn, type LogBatch } from './batch.js';
import { BlockWriter } from './blocks.js';

const { file, blockRows } = workerData as { file: string; blockRows: number };
const db = new Database(file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
// Rarer checkpoints (a block is written once, and a checkpoint writes it again): one every ~40 MiB of
// WAL, whatever the file's page size.
db.pragma(
  `wal_autocheckpoint = ${Math.ceil((40 * 1024 * 1024) / (db.pragma('page_size', { simple: true }) as number))}`,
);
const writer = new BlockWriter(db, blockRows);

let queue: LogBatch[] = [];
let retry: NodeJS.Timeout | undefined;

/** Writes everything queued in one transaction; on failure the rows stay queued and a retry is set. */
function drain(): void {
  if (queue.length === 0) return;
  const batches = queue;
  const rows = rowsIn(batches);
  try {
    writer.append(batches);
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e), queued: rows });
    retry ??= setTimeout(() => {
      retry = undefined;
      drain();
    }, 100);
    return;
  }
  queue = [];
  parentPort!.postMessage({ written: rows });
}

parentPort!.on('message', (m: { batches?: LogBatch[]; close?: boolean }) => {
  if (m.batches) {
    for (const b of m.batches) queue.push(b);
    drain();
  }
  if (m.close) {
    clearTimeout(retry);
    drain();
    db.close();
    parentPort!.postMessage({ closed: true, unwritten: rowsIn(queue) });
  }
});
