// The decision log as it was written before migration 5: partitions of rows (migration 3), with names
// coded as ids into `decision_names` from migration 4 (format 2) or as text (format 1). Nothing writes
// them any more (decision-blocks.ts does); they stay readable through the `decisions` view, every one
// indexed by principal and resource, until retention drops them whole.
import type { Db } from './database.js';

/**
 * Partition formats (migration 4). 1: every column as text, as migration 1 made them. 2: types,
 * actions, matched rules and revisions as ids into `decision_names`, the outcome as 0/1; half the
 * cost a row to insert. Readers see one shape either way, through the `decisions` view.
 */
const CODED = 2;

function indexDdl(name: string): string {
  return `CREATE INDEX IF NOT EXISTS ${name}_principal ON ${name} (principal_id);
   CREATE INDEX IF NOT EXISTS ${name}_resource ON ${name} (resource_id);`;
}

/** A partition as the view shows it: the columns of migration 1, names decoded. */
function partitionSelect(name: string, format: number): string {
  if (format !== CODED) return `SELECT * FROM ${name}`;
  const decode = (column: string) => `(SELECT text FROM decision_names WHERE id = d.${column}) AS ${column}`;
  return `SELECT d.seq, d.id, d.time, ${decode('principal_type')}, d.principal_id, ${decode('action')}, ${decode('resource_type')}, d.resource_id,
     CASE d.allowed WHEN 1 THEN 'allow' ELSE 'deny' END AS outcome, ${decode('matched')}, ${decode('policy_revision')}, d.latency_us, d.errors, d.request
     FROM ${name} d`;
}

function partitions(db: Db): { number: number; name: string; format: number }[] {
  return db.prepare('SELECT number, name, format FROM decision_partitions ORDER BY number').all() as {
    number: number;
    name: string;
    format: number;
  }[];
}

/** One SELECT per partition, in order. */
export function partitionsSql(db: Db): string[] {
  return partitions(db).map((p) => partitionSelect(p.name, p.format));
}

export function legacyMaxSeq(db: Db): number {
  let max = 0;
  for (const p of partitions(db))
    max = Math.max(max, (db.prepare(`SELECT max(seq) FROM ${p.name}`).pluck().get() as number | null) ?? 0);
  return max;
}

/**
 * Migration 5: the partitions are final. Empty ones are dropped, and the one that was being written
 * gets the indexes the others got when they were sealed.
 */
export function sealPartitions(db: Db): void {
  for (const p of partitions(db)) {
    if (db.prepare(`SELECT EXISTS (SELECT 1 FROM ${p.name})`).pluck().get() === 0) dropPartition(db, p.number, p.name);
    else db.exec(indexDdl(p.name));
  }
}

function dropPartition(db: Db, number: number, name: string): void {
  db.exec(`DROP TABLE ${name}`);
  db.prepare('DELETE FROM decision_partitions WHERE number = ?').run(number);
}

/** Drops the partitions whose newest row is older than `cutoff`; returns the rows dropped (the caller rebuilds the view). */
export function dropPartitionsBefore(db: Db, cutoff: number): number {
  const old = db.prepare('SELECT number, name, rows FROM decision_partitions WHERE last_time < ?').all(cutoff) as {
    number: number;
    name: string;
    rows: number;
  }[];
  for (const p of old) dropPartition(db, p.number, p.name);
  return old.reduce((n, p) => n + p.rows, 0);
}
