// Entities on PostgreSQL (the EntityStore of stores.ts), with SQLite's ownership rules (entity-store.ts):
// each row is a pack's (`scope`, the pack's directory) or the store's own (''); a store for a pack sees
// the pack's over the store's and never another pack's. Devices and provisioning keys are entities too,
// read from the key store's tables. Lookups read the sidecar's mirror; lists and plans run in SQL.
import type { CheckedEntity } from '../../../engine/entities/index.js';
import type { EntityTypeDef } from '../../../engine/lang/index.js';
import type { ColumnSql, SqlClause } from '../../../engine/plan/index.js';
import { PackOwnedError, type EntityStore } from '../stores.js';
import type { Pool, PoolClient } from './connection.js';
import type { ChangedRow, StoreMirror } from './mirror.js';
import { inTransaction } from './pg-key-store.js';
import { pgEntityColumns, POSTGRES_DIALECT } from './plan-sql.js';
import { reaching } from './unavailable.js';

/** The key store's tables as entities: the attributes the engine sees (times as epoch milliseconds). */
const KEY_STORE_ENTITIES: Record<string, { table: string; attributes: string }> = {
  device: { table: 'devices', attributes: `jsonb_build_object('fleet', fleet, 'organization', organization)` },
  provisioning_key: {
    table: 'provisioning_keys',
    // No cap is an absent maxRegistrations, as in the key store.
    attributes: `jsonb_build_object('fleet', fleet, 'organization', organization, 'expiresAt', expires_at,
      'allowedCidrs', allowed_cidrs, 'registrations', registrations, 'revoked', revoked)
      || CASE WHEN max_registrations IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('maxRegistrations', max_registrations) END`,
  },
};

/**
 * `SELECT id, attributes` of the entities of `type` a store for a pack sees, its parameters (type, pack)
 * numbered from `$first`: the key store's, then entity rows it does not shadow, the pack's over the store's.
 */
function entitiesOfType(type: string, first: number): string {
  const [t, p] = [`$${first}`, `$${first + 1}`];
  const rows = `SELECT id, attributes FROM entities e WHERE type = ${t}::text AND (scope = ${p}::text OR (scope = '' AND NOT EXISTS
    (SELECT 1 FROM entities o WHERE o.type = e.type AND o.id = e.id AND o.scope = ${p}::text)))`;
  const keyed = KEY_STORE_ENTITIES[type];
  if (!keyed) return rows;
  return `SELECT id, ${keyed.attributes} AS attributes FROM ${keyed.table}
          UNION ALL ${rows} AND id NOT IN (SELECT id FROM ${keyed.table})`;
}

const nameOf = (e: { type: string; id: string }) => `${e.type}/${e.id}`;

/** JSON with object keys sorted: jsonb keeps its own key order, so comparisons go through this. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The last of each type and id, in order: one statement may not change a row twice. */
function lastOfEach(entities: readonly CheckedEntity[]): CheckedEntity[] {
  const byName = new Map<string, CheckedEntity>();
  for (const e of entities) {
    byName.delete(nameOf(e));
    byName.set(nameOf(e), e);
  }
  return [...byName.values()];
}

const CHUNK = 1000;

export class PgEntityStore implements EntityStore {
  readonly sqlDialect = POSTGRES_DIALECT;

  constructor(
    private readonly pool: Pool,
    private readonly mirror: StoreMirror,
    private readonly clock: () => number,
    readonly pack = '',
  ) {}

  /** The mirror is told of changes: nothing to do per request. */
  refresh(): void {}

  attributes(type: string, id: string): Readonly<Record<string, unknown>> | undefined {
    return this.mirror.attributes(type, id);
  }

  has(type: string, id: string): boolean {
    return this.mirror.attributes(type, id) !== undefined;
  }

  async ids(type: string, after: string | undefined, count: number): Promise<string[]> {
    const { rows } = await reaching(() =>
      this.pool.query<{ id: string }>(
        `SELECT id FROM (${entitiesOfType(type, 1)}) AS visible WHERE id > $3 ORDER BY id LIMIT $4`,
        [type, this.pack, after ?? '', count],
      ),
    );
    return rows.map((r) => r.id);
  }

  columnSql(def: EntityTypeDef | undefined): ColumnSql {
    return pgEntityColumns(def);
  }

  /** `sql` is a plan built with `columnSql` and `sqlDialect`: its parameters are $1…$n, ours follow. */
  async select(type: string, sql: SqlClause, page?: { after: string | undefined; count: number }): Promise<string[]> {
    const n = sql.params.length;
    const rest = page ? ` AND id > $${n + 3} ORDER BY id LIMIT $${n + 4}` : ' ORDER BY id';
    const params = [...sql.params, type, this.pack, ...(page ? [page.after ?? '', page.count] : [])];
    const { rows } = await reaching(() =>
      this.pool.query<{ id: string }>(
        `SELECT id FROM (${entitiesOfType(type, n + 1)}) AS visible WHERE (${sql.where})${rest}`,
        params,
      ),
    );
    return rows.map((r) => r.id);
  }

  private async insert(c: PoolClient, scope: string, entities: readonly CheckedEntity[]): Promise<void> {
    const now = this.clock();
    for (let at = 0; at < entities.length; at += CHUNK) {
      const chunk = entities.slice(at, at + CHUNK);
      await c.query(
        `INSERT INTO entities (type, id, scope, attributes, updated_at)
         SELECT t, i, $3, a::jsonb, $4 FROM unnest($1::text[], $2::text[], $5::text[]) AS u(t, i, a)
         ON CONFLICT (type, id, scope) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at`,
        [chunk.map((e) => e.type), chunk.map((e) => e.id), scope, now, chunk.map((e) => JSON.stringify(e.attributes))],
      );
    }
  }

  /** Which of `entities` are held with `scope`. */
  private async heldIn(c: PoolClient, scope: string, entities: readonly CheckedEntity[]): Promise<Set<string>> {
    const { rows } = await c.query<{ type: string; id: string }>(
      `SELECT e.type, e.id FROM entities e JOIN unnest($2::text[], $3::text[]) AS u(type, id)
         ON e.type = u.type AND e.id = u.id WHERE e.scope = $1`,
      [scope, entities.map((e) => e.type), entities.map((e) => e.id)],
    );
    return new Set(rows.map(nameOf));
  }

  private rowsOf(scope: string, entities: Iterable<{ type: string; id: string }>): ChangedRow[] {
    return [...entities].map((e) => ({ table: 'entities' as const, type: e.type, id: e.id, scope }));
  }

  async upsert(entities: readonly CheckedEntity[]): Promise<number> {
    const unique = lastOfEach(entities);
    await inTransaction(this.pool, async (c) => {
      if (this.pack !== '') {
        const owned = await this.heldIn(c, this.pack, unique);
        if (owned.size > 0)
          throw new PackOwnedError(
            this.pack,
            unique.map(nameOf).filter((n) => owned.has(n)),
          );
      }
      await this.insert(c, '', unique);
    });
    await this.mirror.reload(this.rowsOf('', unique)).catch(() => {});
    return entities.length;
  }

  /**
   * When the store already holds exactly these entities for the pack (another sidecar serving it wrote
   * them, or this one before a restart), nothing is written and nothing is announced.
   */
  async replacePack(
    entities: readonly CheckedEntity[],
  ): Promise<{ loaded: number; overStore: string[]; inKeyStore: string[] }> {
    if (this.pack === '') throw new Error('this store serves no pack');
    const unique = lastOfEach(entities);
    const before = this.mirror.packEntities();
    const same =
      before.size === unique.length &&
      unique.every((e) => {
        const held = before.get(JSON.stringify([e.type, e.id]));
        return held !== undefined && canonical(held) === canonical(e.attributes);
      });
    const report = await inTransaction(this.pool, async (c) => {
      if (!same) {
        await c.query('DELETE FROM entities WHERE scope = $1', [this.pack]);
        await this.insert(c, this.pack, unique);
      }
      const overStore = await this.heldIn(c, '', unique);
      const keyed = new Set<string>();
      for (const [type, { table }] of Object.entries(KEY_STORE_ENTITIES)) {
        const ids = unique.filter((e) => e.type === type).map((e) => e.id);
        if (ids.length === 0) continue;
        const { rows } = await c.query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1)`, [ids]);
        for (const r of rows) keyed.add(nameOf({ type, id: r.id }));
      }
      return {
        loaded: entities.length,
        overStore: entities.map(nameOf).filter((n) => overStore.has(n)),
        inKeyStore: entities.map(nameOf).filter((n) => keyed.has(n)),
      };
    });
    if (!same) {
      const old = [...before.keys()].map((k) => {
        const [type, id] = JSON.parse(k) as [string, string];
        return { type, id };
      });
      await this.mirror.reload(this.rowsOf(this.pack, [...old, ...unique])).catch(() => {});
    }
    return report;
  }
}
