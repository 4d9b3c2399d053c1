// A residual condition → a parameterized SQLite WHERE clause. Values are always `?` parameters, never
// text; column names are quoted identifiers. Conventions for the caller's table: times are epoch
// milliseconds, booleans 0/1, lists JSON arrays, required attributes NOT NULL.
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

export function toSql(r: Residual, column: ColumnSql): SqlClause {
  const params: (string | number)[] = [];
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
        params.push(...values.map(param));
        return `${col(x.field, x.type)} IN (${values.map(() => '?').join(', ')})`;
      }
      case 'contains':
        params.push(param(x.value));
        return `EXISTS (SELECT 1 FROM json_each(${col(x.field, x.type)}) WHERE json_each.value = ?)`;
      case 'exists':
        return `${column(x.field, x.type, true)} IS NOT NULL`;
      case 'unsupported':
        throw new Error(x.reason);
      default:
        params.push(param(x.value));
        return `${col(x.field, x.type)} ${OPS[x.operator]} ?`;
    }
  };
  return { where: walk(r), params };
}
