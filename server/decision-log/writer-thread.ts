// The decision log's writer thread: receives rows from the request thread and appends them to the
// log's blocks on its own connection; a failed write is retried, never dropped. It also runs the
// statements others write to the same file (`beside`: shadow disagreements), so that no write waits on
// the request thread for this connection's lock; their caller retries those.
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

const statements = new Map<string, Database.Statement>();
/** One statement from the request thread, run after the rows it sent before it. */
function runBeside({ id, sql, params }: Beside): void {
  try {
    let statement = statements.get(sql);
    if (statement === undefined) statements.set(sql, (statement = db.prepare(sql)));
    statement.run(...params);
    parentPort!.postMessage({ besideDone: id });
  } catch (e) {
    parentPort!.postMessage({ besideDone: id, besideError: e instanceof Error ? e.message : String(e) });
  }
}

export interface Beside {
  id: number;
  sql: string;
  params: unknown[];
}

parentPort!.on('message', (m: { batches?: LogBatch[]; beside?: Beside; close?: boolean }) => {
  if (m.batches) {
    for (const b of m.batches) queue.push(b);
    drain();
  }
  if (m.beside) runBeside(m.beside);
  if (m.close) {
    clearTimeout(retry);
    drain();
    db.close();
    parentPort!.postMessage({ closed: true, unwritten: rowsIn(queue) });
  }
});
