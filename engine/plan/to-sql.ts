// A residual condition → a parameterized WHERE clause, in SQLite's dialect unless the caller names another.
// Values are always parameters, never text; column names are quoted identifiers. Conventions for the
// caller's table: times are epoch milliseconds, booleans 0/1 (parameters are 1/0), lists JSON arrays,
// required attributes NOT NULL.
import type { Residual } from '../lang/partial-evaluate.js';
import type { ValueType } from '../lang/types.js';

export interface SqlClause {
  where: string;
  params: (string | number)[];
}

const OPS: Record<string, string> = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' };

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function param(v: unknown): string | number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' || typeof v === 'number') return v;
  throw new Error(`cannot pass ${typeof v} as an SQL parameter`);
}

/**
 * `column(field, type, presence)` gives the SQL that reads an attribute: a quoted column, or an
 * expression. `presence` asks for the value as stored, for `has()`: an expression that fills in a
 * default must not make an absent attribute look present.
 */
export type ColumnSql = (field: string, type: ValueType, presence: boolean) => string;

/** What differs between SQL databases in a plan's clause, beyond how columns are read (ColumnSql). */
export interface SqlDialect {
  /** The placeholder of the `n`th parameter, from 1. */
  param(n: number): string;
  /** A condition, never NULL: the JSON list `list` (a column's SQL) holds the parameter `param`, a `base`. */
  contains(list: string, param: string, base: ValueType['base']): string;
}

/** SQLite: `?` placeholders, lists read with json_each. */
export const SQLITE_DIALECT: SqlDialect = {
  param: () => '?',
  contains: (list, p) => `EXISTS (SELECT 1 FROM json_each(${list}) WHERE json_each.value = ${p})`,
};

export function toSql(r: Residual, column: ColumnSql, dialect: SqlDialect = SQLITE_DIALECT): SqlClause {
  const params: (string | number)[] = [];
  /** Adds a parameter; its placeholder. */
  const add = (v: unknown) => {
    params.push(param(v));
    return dialect.param(params.length);
  };
  const col = (field: string, type: ValueType) => column(field, type, false);
  const walk = (x: Residual): string => {
    switch (x.operator) {
      case 'and':
      case 'or':
        return `(${x.value.map(walk).join(x.operator === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `NOT ${walk(x.value)}`;
      case 'in': {
        const values = x.value as unknown[];
        if (values.length === 0) return '1 = 0';
        return `${col(x.field, x.type)} IN (${values.map(add).join(', ')})`;
      }
      case 'contains':
        return dialect.contains(col(x.field, x.type), add(x.value), x.type.base);
      case 'exists':
        return `${column(x.field, x.type, true)} IS NOT NULL`;
      case 'unsupported':
        throw new Error(x.reason);
      default: {
        const column = col(x.field, x.type);
        return `${column} ${OPS[x.operator]} ${add(x.value)}`;
      }
    }
  };
  return { where: walk(r), params };
}
