// Query plans: "which resources of this type may this principal do this action on?" as a condition over
// resource attributes (ucast shape) and a parameterized SQL WHERE clause. Built from the same partial
// evaluation as the CASL lowering, honouring deny-overrides and failing closed; a plan that cannot be
// exact says `partial: true` with the reason, and then returns a subset of the allowed rows, never more.
import { bucketFor } from '../decide/bucket-for.js';
import {
  allOf,
  anyOf,
  findUnsupported,
  negate,
  partialEvaluate,
  type PartialResult,
  type Residual,
} from '../lang/partial-evaluate.js';
import { EvaluationError } from '../lang/values.js';
import type { IR } from '../lang/ir.js';
import type { Entity, PolicySet } from '../types.js';
import { quoteIdentifier, toSql, type ColumnSql, type SqlClause, type SqlDialect } from './to-sql.js';

export interface PlanRequest {
  principal: Entity;
  action: string;
  resourceType: string;
  context?: Record<string, unknown>;
  /** attribute → column; defaults to the attribute name. */
  columns?: Record<string, string>;
  /** For embedders: the SQL expression that reads an attribute (instead of a quoted column name). */
  columnSql?: ColumnSql;
  /** For embedders: the SQL dialect of `columnSql`'s database (SQLite's by default). */
  dialect?: SqlDialect;
}

/** The condition in the ucast shape: `{ operator, field, value }` and `{ operator: 'and'|'or'|'not', value }`. */
export type Condition =
  | { operator: 'and' | 'or'; value: Condition[] }
  | { operator: 'not'; value: Condition }
  | { operator: string; field: string; value: unknown };

export interface Plan {
  kind: 'always_allowed' | 'always_denied' | 'conditional';
  condition: Condition | null;
  sql: SqlClause;
  partial?: true;
  reason?: string;
  policyRevision: string;
}

export function planQuery(set: PolicySet, req: PlanRequest, now: number): Plan {
  const bucket = bucketFor(set.index, req.principal.type, req.action, req.resourceType);
  const reasons: string[] = [];
  const known = { principal: req.principal, context: req.context ?? {}, now };

  /** undefined: the principal or context part fails, and the fast path fails closed where it is reached. */
  const evaluate = (ir: IR, rule: string, unsupportedAs: boolean): PartialResult | undefined => {
    let r: PartialResult;
    try {
      r = partialEvaluate(ir, known);
    } catch (e) {
      if (!(e instanceof EvaluationError)) throw e;
      reasons.push(`rule ${rule}: ${e.message} (everything denied)`);
      return undefined;
    }
    const unsupported = findUnsupported(r);
    if (unsupported) {
      reasons.push(
        `rule ${rule}: ${unsupported} (${unsupportedAs ? 'treated as matching: more is denied' : 'treated as not matching: less is allowed'})`,
      );
      return replaceUnsupported(r, unsupportedAs);
    }
    return r;
  };

  let result: PartialResult = false;
  let errored = false;
  if (bucket) {
    for (const rule of [...bucket.deny, ...bucket.allow]) {
      for (const field of unguardedOptionalReads(rule.ir)) {
        reasons.push(
          `rule ${rule.id} reads the optional resource attribute ${field} outside has(): rows where it is NULL may be decided differently`,
        );
      }
    }
    const denies = bucket.deny.map((rule) => evaluate(rule.ir, rule.id, true));
    const allows = bucket.allow.map((rule) => evaluate(rule.ir, rule.id, false));
    const complete = (xs: (PartialResult | undefined)[]): xs is PartialResult[] => xs.every((x) => x !== undefined);
    if (complete(denies) && complete(allows)) result = allOf([negate(anyOf(denies)), anyOf(allows)]);
    else errored = true;
  }
  const plan = (kind: Plan['kind'], condition: Condition | null, sql: SqlClause): Plan => {
    const p: Plan = { kind, condition, sql, policyRevision: set.revision };
    if (reasons.length > 0) {
      p.partial = true;
      p.reason = reasons.join('; ');
    }
    return p;
  };
  if (errored || result === false) return plan('always_denied', null, { where: '1 = 0', params: [] });
  if (result === true) return plan('always_allowed', null, { where: '1 = 1', params: [] });
  return plan(
    'conditional',
    toCondition(result),
    toSql(result, req.columnSql ?? ((field) => quoteIdentifier(req.columns?.[field] ?? field)), req.dialect),
  );
}

function replaceUnsupported(r: PartialResult, value: boolean): PartialResult {
  if (typeof r === 'boolean') return r;
  switch (r.operator) {
    case 'unsupported':
      return value;
    case 'and':
      return allOf(r.value.map((x) => replaceUnsupported(x, value)));
    case 'or':
      return anyOf(r.value.map((x) => replaceUnsupported(x, value)));
    case 'not':
      // Under a negation the safe direction flips.
      return negate(replaceUnsupported(r.value, !value));
    default:
      return r;
  }
}

/** The residual without its internal type annotations, times as RFC 3339 text. */
function toCondition(r: Residual): Condition {
  switch (r.operator) {
    case 'and':
    case 'or':
      return { operator: r.operator, value: r.value.map(toCondition) };
    case 'not':
      return { operator: 'not', value: toCondition(r.value) };
    case 'unsupported':
      throw new Error('unsupported residuals are replaced before this point');
    default: {
      const time = r.type.base === 'time';
      const show = (v: unknown) => (time && typeof v === 'number' ? new Date(v).toISOString() : v);
      return {
        operator: r.operator,
        field: r.field,
        value: Array.isArray(r.value) ? r.value.map(show) : show(r.value),
      };
    }
  }
}

/**
 * Optional resource attributes read outside a `has(resource.x) and …` guard. SQL's NULL logic differs
 * from fail-closed evaluation for such reads, so a plan that depends on them cannot promise exactness.
 */
export function unguardedOptionalReads(ir: IR, guarded: ReadonlySet<string> = new Set()): string[] {
  switch (ir.k) {
    case 'attr':
      return ir.root === 'resource' && ir.def.optional && ir.def.default === undefined && !guarded.has(ir.name)
        ? [ir.name]
        : [];
    case 'and': {
      const left = unguardedOptionalReads(ir.left, guarded);
      const inner = ir.left.k === 'has' && ir.left.root === 'resource' ? new Set([...guarded, ir.left.name]) : guarded;
      return [...left, ...unguardedOptionalReads(ir.right, inner)];
    }
    case 'or':
    case 'compare':
    case 'in':
      return [...unguardedOptionalReads(ir.left, guarded), ...unguardedOptionalReads(ir.right, guarded)];
    case 'not':
      return unguardedOptionalReads(ir.operand, guarded);
    default:
      return [];
  }
}
