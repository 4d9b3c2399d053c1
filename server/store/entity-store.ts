// Entities (any type, with attributes) in the sidecar's database: users for the key store, and whatever
// AuthZEN subjects and resources a pack needs. Reads are cached in memory; once per request, SQLite's
// data_version tells whether another connection (the CLI, another sidecar) wrote, and the cache is
// dropped then.
import type { Entity } from '../../engine/index.js';
import type { StoredEntity } from '../../engine/schema/entities-file.js';
import type { Db } from './database.js';
import type { ValueType } from '../../engine/lang/types.js';
import type { SqlClause } from '../../engine/plan/to-sql.js';

export class EntityStore {
  /** type → id → attributes (frozen: callers share them), or null when not stored. */
  private readonly cache = new Map<string, Map<string, Readonly<Record<string, unknown>> | null>>();
  private version = -1;
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly clock: () => number,
  ) {
    this.stmts = {
      get: db.prepare('SELECT attributes FROM entities WHERE type = ? AND id = ?'),
      list: db.prepare('SELECT id, attributes FROM entities WHERE type = ? ORDER BY id'),
      upsert: db.prepare(
        'INSERT INTO entities (type, id, attributes, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at',
      ),
      version: db.prepare('PRAGMA data_version').pluck(),
    };
  }

  /** Drops the cache when the file changed under another connection: call once per request. */
  refresh(): void {
    const v = this.stmts.version.get() as number;
    if (v !== this.version) {
      this.cache.clear();
      this.version = v;
    }
  }

  attributes(type: string, id: string): Readonly<Record<string, unknown>> | undefined {
    let ofType = this.cache.get(type);
    if (ofType === undefined) this.cache.set(type, (ofType = new Map()));
    let hit = ofType.get(id);
    if (hit === undefined) {
      const row = this.stmts.get.get(type, id) as { attributes: string } | undefined;
      hit = row ? Object.freeze(JSON.parse(row.attributes) as Record<string, unknown>) : null;
      ofType.set(id, hit);
    }
    return hit ?? undefined;
  }

  has(type: string, id: string): boolean {
    return this.attributes(type, id) !== undefined;
  }

  list(type: string): Entity[] {
    this.refresh();
    return (this.stmts.list.all(type) as { id: string; attributes: string }[]).map((r) => ({
      type,
      id: r.id,
      attributes: JSON.parse(r.attributes),
    }));
  }

  /** Ids of the stored entities of `type` that satisfy a query plan built with `entityColumn`. */
  select(type: string, sql: SqlClause): string[] {
    this.refresh();
    return this.db
      .prepare(`SELECT id FROM entities WHERE type = ? AND (${sql.where}) ORDER BY id`)
      .pluck()
      .all(type, ...sql.params) as string[];
  }

  upsert(entities: StoredEntity[]): number {
    const now = this.clock();
    this.db.transaction(() => {
      for (const e of entities) this.stmts.upsert.run(e.type, e.id, JSON.stringify(e.attributes), now);
    })();
    this.cache.clear();
    return entities.length;
  }
}

/**
 * How a query plan reads an entity's attribute from its JSON: times as epoch milliseconds, booleans as
 * 0/1 and lists as JSON arrays (the plan conventions), the id as the column.
 */
export function entityColumn(field: string, type: ValueType): string {
  if (field === 'id') return 'id';
  const value = `json_extract(attributes, '$."${field.replace(/[^A-Za-z0-9_-]/g, '')}"')`;
  return type.base === 'time' && !type.list ? `CAST(round(unixepoch(${value}, 'subsec') * 1000) AS INTEGER)` : value;
}
