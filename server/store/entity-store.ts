// Entities (any type, with attributes) in the sidecar's SQLite file (the EntityStore of stores.ts): users for the key store, and whatever
// AuthZEN subjects and resources a pack needs. The key store's devices and provisioning keys are entities
// too, read from its own tables (one source of truth): an id the key store holds is resolved from there,
// and an entity row of the same type and id is not used.
// Every entity row has one owner: a pack's entities.yaml (`scope`: the pack's directory) or the store
// itself (`scope` '': the admin API, the CLI). A store opened for a pack sees that pack's entities and
// the store's, a pack's over the store's of the same type and id, and never another pack's; it refuses
// to change through the store an entity its pack's file declares, so a reload of the file never
// reverts such a change.
// Entity rows are cached in memory; once per request, SQLite's data_version tells whether another
// connection (the CLI, another sidecar) wrote, and the cache is dropped then. Key store rows are read on
// every lookup (by primary key): this connection writes them too, and a revocation must apply at once.
import { realpathSync } from 'node:fs';
import { storedValue, type CheckedEntity } from '../../engine/entities/index.js';
import type { EntityTypeDef } from '../../engine/lang/index.js';
import { SQLITE_DIALECT, type ColumnSql, type SqlClause } from '../../engine/plan/index.js';
import type { Db } from './database.js';
import { PackOwnedError, type EntityStore } from './stores.js';

/** The key store's tables as entities: the attributes the engine sees (times as epoch milliseconds). */
const KEY_STORE_ENTITIES: Record<string, { table: string; attributes: string }> = {
  device: { table: 'devices', attributes: `json_object('fleet', fleet, 'organization', organization)` },
  provisioning_key: {
    table: 'provisioning_keys',
    // json_patch drops a null member: no cap is an absent maxRegistrations, as in the key store.
    attributes: `json_patch(json_object('fleet', fleet, 'organization', organization, 'expiresAt', expires_at,
      'allowedCidrs', json(allowed_cidrs), 'registrations', registrations,
      'revoked', json(CASE revoked WHEN 0 THEN 'false' ELSE 'true' END)),
      json_object('maxRegistrations', max_registrations))`,
  },
};

/**
 * `SELECT id, attributes` of the entities of `type` a store for a pack sees (parameters: type, pack,
 * pack): the key store's, then entity rows it does not shadow, the pack's over the store's.
 */
function entitiesOfType(type: string): string {
  const rows = `SELECT id, attributes FROM entities e WHERE type = ? AND (scope = ? OR (scope = '' AND NOT EXISTS
    (SELECT 1 FROM entities p WHERE p.type = e.type AND p.id = e.id AND p.scope = ?)))`;
  const keyed = KEY_STORE_ENTITIES[type];
  if (!keyed) return rows;
  return `SELECT id, ${keyed.attributes} AS attributes FROM ${keyed.table}
          UNION ALL ${rows} AND id NOT IN (SELECT id FROM ${keyed.table})`;
}

/** The scope of a pack's entities: its policy directory's real path, however the directory is named. */
export function packScope(dir: string): string {
  return realpathSync(dir);
}

const nameOf = (e: { type: string; id: string }) => `${e.type}/${e.id}`;

export class SqliteEntityStore implements EntityStore {
  readonly sqlDialect = SQLITE_DIALECT;
  /** type → id → attributes (frozen: callers share them), or null when not stored. */
  private readonly cache = new Map<string, Map<string, Readonly<Record<string, unknown>> | null>>();
  private version = -1;
  private readonly stmts;
  private readonly keyed = new Map<string, { get(id: string): unknown }>();
  /** type → statement listing ids, for the key store's types; every other type shares `stmts.ids`. */
  private readonly idLists = new Map<string, { all(...params: unknown[]): unknown[] }>();

  /** `pack`: the scope of the pack this store serves (`packScope`), '' for the store's entities alone. */
  constructor(
    private readonly db: Db,
    private readonly clock: () => number,
    readonly pack = '',
  ) {
    const idsAfter = (entities: string) => db.prepare(`SELECT id FROM (${entities}) WHERE id > ? ORDER BY id LIMIT ?`);
    this.stmts = {
      get: db.prepare(
        "SELECT attributes FROM entities WHERE type = ? AND id = ? AND scope IN (?, '') ORDER BY scope = '' LIMIT 1",
      ),
      upsert: db.prepare(
        'INSERT INTO entities (type, id, scope, attributes, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (type, id, scope) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at',
      ),
      ownedBy: db.prepare('SELECT 1 FROM entities WHERE type = ? AND id = ? AND scope = ?').pluck(),
      dropPack: db.prepare('DELETE FROM entities WHERE scope = ?'),
      ids: idsAfter(entitiesOfType('')).pluck(),
      version: db.prepare('PRAGMA data_version').pluck(),
    };
    for (const [type, { table, attributes }] of Object.entries(KEY_STORE_ENTITIES)) {
      this.keyed.set(type, db.prepare(`SELECT ${attributes} FROM ${table} WHERE id = ?`).pluck());
      this.idLists.set(type, idsAfter(entitiesOfType(type)).pluck());
    }
  }

  /** Drops the cache when the file changed under another connection. */
  refresh(): void {
    const v = this.stmts.version.get() as number;
    if (v !== this.version) {
      this.cache.clear();
      this.version = v;
    }
  }

  attributes(type: string, id: string): Readonly<Record<string, unknown>> | undefined {
    const keyed = this.keyed.get(type)?.get(id) as string | undefined;
    if (keyed !== undefined) return Object.freeze(JSON.parse(keyed) as Record<string, unknown>);
    let ofType = this.cache.get(type);
    if (ofType === undefined) this.cache.set(type, (ofType = new Map()));
    let hit = ofType.get(id);
    if (hit === undefined) {
      const row = this.stmts.get.get(type, id, this.pack) as { attributes: string } | undefined;
      hit = row ? Object.freeze(JSON.parse(row.attributes) as Record<string, unknown>) : null;
      ofType.set(id, hit);
    }
    return hit ?? undefined;
  }

  has(type: string, id: string): boolean {
    return this.attributes(type, id) !== undefined;
  }

  async ids(type: string, after: string | undefined, count: number): Promise<string[]> {
    return (this.idLists.get(type) ?? this.stmts.ids).all(type, this.pack, this.pack, after ?? '', count) as string[];
  }

  columnSql(def: EntityTypeDef | undefined): ColumnSql {
    return entityColumns(def);
  }

  async select(type: string, sql: SqlClause, page?: { after: string | undefined; count: number }): Promise<string[]> {
    this.refresh();
    const rest = page ? ' AND id > ? ORDER BY id LIMIT ?' : ' ORDER BY id';
    const visible = [type, this.pack, this.pack];
    const params = page ? [...visible, ...sql.params, page.after ?? '', page.count] : [...visible, ...sql.params];
    return this.db
      .prepare(`SELECT id FROM (${entitiesOfType(type)}) WHERE (${sql.where})${rest}`)
      .pluck()
      .all(...params) as string[];
  }

  /** Entities checked against the schema (`checkEntities`); written at once, before the promise settles. */
  async upsert(entities: readonly CheckedEntity[]): Promise<number> {
    const now = this.clock();
    this.db.transaction(() => {
      const owned = this.pack === '' ? [] : entities.filter((e) => this.stmts.ownedBy.get(e.type, e.id, this.pack));
      if (owned.length > 0) throw new PackOwnedError(this.pack, owned.map(nameOf));
      for (const e of entities) this.stmts.upsert.run(e.type, e.id, '', JSON.stringify(e.attributes), now);
    })();
    this.cache.clear();
    return entities.length;
  }

  /** Written at once, before the promise settles: a reload's entities apply to the next request. */
  async replacePack(
    entities: readonly CheckedEntity[],
  ): Promise<{ loaded: number; overStore: string[]; inKeyStore: string[] }> {
    if (this.pack === '') throw new Error('this store serves no pack');
    const now = this.clock();
    this.db.transaction(() => {
      this.stmts.dropPack.run(this.pack);
      for (const e of entities) this.stmts.upsert.run(e.type, e.id, this.pack, JSON.stringify(e.attributes), now);
    })();
    this.cache.clear();
    return {
      loaded: entities.length,
      overStore: entities.filter((e) => this.stmts.ownedBy.get(e.type, e.id, '')).map(nameOf),
      inKeyStore: entities.filter((e) => this.keyed.get(e.type)?.get(e.id) !== undefined).map(nameOf),
    };
  }
}

/**
 * How a query plan reads the attributes of stored entities of one type (`def`, its schema definition):
 * the JSON value as the store holds it (checked and normalized on the way in: times as epoch
 * milliseconds, booleans read by SQLite as 1/0, lists as JSON arrays), an absent attribute as the schema's
 * default (as the engine reads it), the id as the column.
 */
export function entityColumns(def: EntityTypeDef | undefined): ColumnSql {
  return (field, type, presence) => {
    if (field === 'id') return 'id';
    const value = `json_extract(attributes, '$."${field.replace(/[^A-Za-z0-9_-]/g, '')}"')`;
    const fallback = def?.attributes.get(field)?.default;
    return presence || fallback === undefined
      ? value
      : `COALESCE(${value}, ${sqlLiteral(storedValue(type, fallback))})`;
  };
}

/** A stored JSON value as an SQL literal that compares as json_extract returns it. */
function sqlLiteral(value: unknown): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return String(value);
  // Text (and a list, as its JSON text), spelled in hex: no quoting to get wrong.
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `CAST(X'${Buffer.from(text, 'utf8').toString('hex')}' AS TEXT)`;
}
