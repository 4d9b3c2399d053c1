// A SQLite table per resource type, with the plan conventions: times in epoch ms, booleans 0/1, lists as
// JSON arrays, absent optional attributes NULL.
import Database from 'better-sqlite3';

export interface ResourceTable {
  db: Database.Database;
  insert(rows: Entity[]): void;
  select(where: string, params: unknown[]): string[];
}
import type { Entity, PolicySet } from '../../engine/index.js';
import { quoteIdentifier } from '../../engine/plan/to-sql.js';

export function toColumnValue(base: string, list: boolean, value: unknown): unknown {
  if (value === undefined) return null;
  if (list) return JSON.stringify(value);
  if (base === 'time') return typeof value === 'string' ? Date.parse(value) : value;
  if (base === 'bool') return value ? 1 : 0;
  return value;
}

export function resourceTable(set: PolicySet, type: string): ResourceTable {
  const def = set.schema.resources.get(type)!;
  const attrs = [...def.attributes.entries()];
  const db = new Database(':memory:');
  db.exec(
    `CREATE TABLE resources (id TEXT PRIMARY KEY${attrs.map(([name, a]) => `, ${quoteIdentifier(name)}${a.optional ? '' : ' NOT NULL'}`).join('')})`,
  );
  const insert = db.prepare(`INSERT INTO resources VALUES (?${attrs.map(() => ', ?').join('')})`);
  return {
    db,
    insert(rows: Entity[]) {
      db.exec('DELETE FROM resources');
      for (const r of rows)
        insert.run(r.id, ...attrs.map(([name, a]) => toColumnValue(a.type.base, a.type.list, r.attributes?.[name])));
    },
    select(where: string, params: unknown[]): string[] {
      return (db.prepare(`SELECT id FROM resources WHERE ${where} ORDER BY id`).all(...params) as { id: string }[]).map(
        (r) => r.id,
      );
    },
  };
}
