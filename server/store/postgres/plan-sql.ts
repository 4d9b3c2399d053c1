// Query plans over the shared store's entities, in PostgreSQL's dialect: `$n` placeholders, attributes
// read from jsonb with the type the schema gives them, lists tested with jsonb containment. The same
// conventions as SQLite's (entity-store.ts): times as epoch milliseconds, an absent attribute as the
// schema's default, text compared byte by byte (COLLATE "C", as SQLite compares).
import { storedValue } from '../../../engine/entities/index.js';
import type { EntityTypeDef, ValueType } from '../../../engine/lang/index.js';
import type { ColumnSql, SqlDialect } from '../../../engine/plan/index.js';

/** The SQL type a scalar of `base` is compared as. */
function sqlType(base: ValueType['base']): 'numeric' | 'boolean' | 'text' {
  if (base === 'number' || base === 'time') return 'numeric';
  if (base === 'bool') return 'boolean';
  return 'text';
}

export const POSTGRES_DIALECT: SqlDialect = {
  param: (n) => `$${n}`,
  // NULL (no list) is false, as json_each over nothing is in SQLite: NOT of it must hold.
  contains: (list, p, base) => `COALESCE(${list} @> jsonb_build_array(${p}::${sqlType(base)}), false)`,
};

/** Text as an SQL literal that needs no quoting to get right (its UTF-8 bytes in hex). */
const textLiteral = (text: string) => `convert_from('\\x${Buffer.from(text, 'utf8').toString('hex')}'::bytea, 'UTF8')`;

function literal(type: ValueType, value: unknown): string {
  if (type.list) return `${textLiteral(JSON.stringify(value))}::jsonb`;
  switch (sqlType(type.base)) {
    case 'numeric':
      return `(${Number(value)})::numeric`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'text':
      return `${textLiteral(String(value))} COLLATE "C"`;
  }
}

export function pgEntityColumns(def: EntityTypeDef | undefined): ColumnSql {
  return (field, type, presence) => {
    if (field === 'id') return 'id';
    const name = field.replace(/[^A-Za-z0-9_-]/g, '');
    if (presence) return `(attributes -> '${name}')`;
    let value: string;
    if (type.list || type.base === 'any') value = `(attributes -> '${name}')`;
    else if (sqlType(type.base) === 'text') value = `((attributes ->> '${name}') COLLATE "C")`;
    else value = `(attributes ->> '${name}')::${sqlType(type.base)}`;
    const fallback = def?.attributes.get(field)?.default;
    return fallback === undefined ? value : `COALESCE(${value}, ${literal(type, storedValue(type, fallback))})`;
  };
}
