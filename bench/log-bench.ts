// The decision log's writer and its queries, in SQLite on a file, in one process: blocks (what the
// sidecar writes, server/decision-log/blocks.ts) against the baseline of coded rows, 64 to an INSERT,
// indexed by principal and resource in one sort once written (the layout before blocks). Rows are the
// sidecar's: random devices of a 1,000,000-device fleet, generated decision ids, transactions of
// 10,000 rows (a flush interval's worth at 100,000 decisions/s).
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decisionIdGenerator } from '../engine/index.js';
import { openDatabase } from '../server/store/database.js';
import { LogBatchBuilder, type LogBatch } from '../server/decision-log/batch.js';
import { encodeBlocks } from '../server/decision-log/block.js';
import { BlockWriter } from '../server/decision-log/blocks.js';
import { contentHash, GENESIS, linkHash } from '../server/decision-log/chain.js';
import { queryDecisions } from '../server/decision-log/decision-log.js';
import { NUMBERS_PER_ROW, SLOT } from '../server/decision-log/row.js';
import { fmtInt, median } from './measure.js';
import { logWorkloadDecision } from './workload.js';

const ROWS = Number(process.env.LOG_BENCH_ROWS ?? 400_000);
const PER_BATCH = 1000;
const PER_TRANSACTION = 10;
const ROUNDS = 3;
const T0 = Date.parse('2026-11-24T00:00:00Z');

function batches(): LogBatch[] {
  const newId = decisionIdGenerator();
  const out: LogBatch[] = [];
  const builder = new LogBatchBuilder(PER_BATCH);
  for (let i = 0; i < ROWS; i++) {
    const { decision, request, offsetMs, latencyUs } = logWorkloadDecision(i, newId());
    builder.push(decision, request, T0 + offsetMs, latencyUs, false);
    if (builder.rows === PER_BATCH) out.push(builder.take());
  }
  if (builder.rows > 0) out.push(builder.take());
  return out;
}

/** The baseline: coded rows (names as ids), 64 rows to an INSERT, indexes built after. */
function rowWriter(db: Database.Database): (bs: LogBatch[]) => void {
  db.exec(`CREATE TABLE rows (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, time INTEGER NOT NULL, principal_type INTEGER NOT NULL, principal_id TEXT NOT NULL,
    action INTEGER NOT NULL, resource_type INTEGER NOT NULL, resource_id TEXT NOT NULL, allowed INTEGER NOT NULL, matched INTEGER NOT NULL,
    policy_revision INTEGER NOT NULL, latency_us REAL NOT NULL, errors TEXT, request TEXT)`);
  const COLUMNS = 14;
  const many = db.prepare(
    `INSERT INTO rows VALUES ${Array(64)
      .fill(`(${Array(COLUMNS).fill('?').join(', ')})`)
      .join(', ')}`,
  );
  const one = db.prepare(`INSERT INTO rows VALUES (${Array(COLUMNS).fill('?').join(', ')})`);
  const params: unknown[] = new Array(COLUMNS * 64);
  let seq = 0;
  return db.transaction((bs: LogBatch[]) => {
    let filled = 0;
    for (const batch of bs) {
      const n = batch.numbers;
      let text = '';
      for (let i = 0; i < batch.ids.length; i += 8192) text += String.fromCharCode(...batch.ids.subarray(i, i + 8192));
      let cut = 0;
      for (let row = 0; row < batch.rows; row++) {
        const at = row * NUMBERS_PER_ROW;
        const values = [
          ++seq,
          text.slice(cut, (cut += n[at + SLOT.id]!)),
          n[at + SLOT.time],
          n[at + SLOT.principal_type],
          text.slice(cut, (cut += n[at + SLOT.principal_id]!)),
          n[at + SLOT.action],
          n[at + SLOT.resource_type],
          text.slice(cut, (cut += n[at + SLOT.resource_id]!)),
          n[at + SLOT.outcome],
          n[at + SLOT.matched],
          n[at + SLOT.policy_revision],
          n[at + SLOT.latency_us],
          null,
          null,
        ];
        for (let c = 0; c < COLUMNS; c++) params[filled * COLUMNS + c] = values[c];
        if (++filled === 64) {
          many.run(params);
          filled = 0;
        }
      }
    }
    for (let r = 0; r < filled; r++) one.run(params.slice(r * COLUMNS, (r + 1) * COLUMNS));
  });
}

interface Result {
  cpuUsPerRow: number;
  bytesPerRow: number;
}

function write(
  kind: 'blocks' | 'rows',
  data: LogBatch[],
  dir: string,
  round: number,
): { result: Result; file: string } {
  const file = join(dir, `${kind}-${round}.db`);
  const db = openDatabase(file);
  db.pragma(
    `wal_autocheckpoint = ${Math.ceil((40 * 1024 * 1024) / (db.pragma('page_size', { simple: true }) as number))}`,
  );
  const append =
    kind === 'blocks'
      ? (
          (w) => (bs: LogBatch[]) =>
            w.append(bs)
        )(new BlockWriter(db, 4096))
      : rowWriter(db);
  const cpu = process.cpuUsage();
  for (let i = 0; i < data.length; i += PER_TRANSACTION) append(data.slice(i, i + PER_TRANSACTION));
  if (kind === 'rows')
    db.exec('CREATE INDEX rows_principal ON rows (principal_id); CREATE INDEX rows_resource ON rows (resource_id)');
  const used = process.cpuUsage(cpu);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { result: { cpuUsPerRow: (used.user + used.system) / ROWS, bytesPerRow: statSync(file).size / ROWS }, file };
}

function timeMs(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

const dir = mkdtempSync(join(tmpdir(), 'fleetguard-log-bench-'));
try {
  const data = batches();
  const runs: Record<'blocks' | 'rows', Result[]> = { blocks: [], rows: [] };
  const files = { blocks: '', rows: '' };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['rows', 'blocks'] as const) {
      const { result, file } = write(kind, data, dir, round);
      runs[kind].push(result);
      files[kind] = file;
    }
  }
  const cpu = (k: 'blocks' | 'rows') => median(runs[k].map((r) => r.cpuUsPerRow));
  console.log(
    `node ${process.version}, ${fmtInt(ROWS)} decisions in batches of ${PER_BATCH}, ${PER_TRANSACTION} batches a transaction, median of ${ROUNDS} rounds\n`,
  );
  console.log('| writer | CPU µs a decision | bytes a decision on disk |\n|---|---|---|');
  console.log(
    `| coded rows, 64 to an INSERT, indexed after (baseline) | ${cpu('rows').toFixed(3)} | ${runs.rows[0]!.bytesPerRow.toFixed(0)} |`,
  );
  console.log(`| blocks of 4,096 as JSON | ${cpu('blocks').toFixed(3)} | ${runs.blocks[0]!.bytesPerRow.toFixed(0)} |`);
  console.log(`\nblocks cost ${((100 * cpu('blocks')) / cpu('rows')).toFixed(1)}% of the baseline's CPU a decision`);

  // The hash chain's share of the blocks writer: the same blocks hashed as the writer hashes them.
  const encoded: ReturnType<typeof encodeBlocks> = [];
  for (let i = 0; i < data.length; i += PER_TRANSACTION)
    encoded.push(...encodeBlocks(data.slice(i, i + PER_TRANSACTION), 4096));
  const hashing = [0, 1, 2].map(() => {
    const start = process.cpuUsage();
    let prev: Uint8Array = GENESIS;
    let seq = 1;
    for (const b of encoded) {
      prev = linkHash('bench', seq, prev, contentHash({ ...b, names: Buffer.from(b.names, 'utf8') }));
      seq += b.rows;
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / ROWS;
  });
  console.log(
    `the hash chain (content and link hashes, inside the blocks writer's figure): ${median(hashing).toFixed(3)} µs a decision, ${((100 * median(hashing)) / cpu('blocks')).toFixed(1)}% of it\n`,
  );

  // Queries: `fleetguard audit`'s, on the blocks, against the same on the indexed rows.
  const blocks = openDatabase(files.blocks);
  const rows = new Database(files.rows, { readonly: true });
  const principal = 'd-7919';
  const since = T0 + Math.floor(ROWS / 40) - 100; // the last 4,000 decisions
  const q = [
    [
      'one principal',
      () => queryDecisions(blocks, { principal }),
      () => rows.prepare('SELECT * FROM rows WHERE principal_id = ? ORDER BY time, seq LIMIT 1000').all(principal),
    ],
    [
      'the last 1% of the time range',
      () => queryDecisions(blocks, { since }),
      () => rows.prepare('SELECT * FROM rows WHERE time >= ? ORDER BY time, seq LIMIT 1000').all(since),
    ],
    [
      'one principal in the last 1%',
      () => queryDecisions(blocks, { principal, since }),
      () =>
        rows
          .prepare('SELECT * FROM rows WHERE principal_id = ? AND time >= ? ORDER BY time, seq LIMIT 1000')
          .all(principal, since),
    ],
  ] as const;
  console.log('| audit query | blocks ms | indexed rows ms |\n|---|---|---|');
  for (const [name, onBlocks, onRows] of q) {
    const b = median([0, 1, 2].map(() => timeMs(onBlocks)));
    const r = median([0, 1, 2].map(() => timeMs(onRows)));
    console.log(`| ${name} | ${b.toFixed(1)} | ${r.toFixed(1)} |`);
  }
  blocks.close();
  rows.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
