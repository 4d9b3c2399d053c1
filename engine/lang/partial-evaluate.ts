// Partial evaluation: principal and context are known, the resource is not. What remains is a condition
// over resource attributes in the ucast shape (the one CASL and OPA's partial eval use), or a constant.
// Shared by the CASL lowering, query plans and client-side rules.
import { accessor, rawAccessor } from './accessors.js';
import type { AuthorizeRequest, Entity } from '../schema/request.js';
import type { CompareOp } from './ast.js';
import type { AttributeDef, IR } from './ir.js';
import type { ValueType } from './types.js';
import { compareValues, isMember } from './values.js';

export type FieldOperator = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'in' | 'contains' | 'exists';

export type Residual =
  | { operator: 'and' | 'or'; value: Residual[] }
  | { operator: 'not'; value: Residual }
  | { operator: FieldOperator; field: string; value: unknown; type: ValueType }
  | { operator: 'unsupported'; reason: string };

/** true / false when the resource does not matter, else the residual condition on the resource. */
export type PartialResult = boolean | Residual;

export interface KnownParts {
  principal: Entity;
  context?: Record<string, unknown>;
  now: number;
}

const OP: Record<CompareOp, FieldOperator> = { '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' };
const FLIP: Record<CompareOp, CompareOp> = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

type Operand = { known: true; value: unknown } | { known: false; field: string; def: AttributeDef };

/** Throws EvaluationError when a principal or context attribute is missing or mistyped (fail closed). */
export function partialEvaluate(ir: IR, known: KnownParts): PartialResult {
  const req: AuthorizeRequest = {
    principal: known.principal,
    action: '',
    resource: { type: '', id: '' },
    context: known.context ?? {},
  };
  return cond(ir, req, known.now);
}

function operand(ir: IR, req: AuthorizeRequest, now: number): Operand {
  if (ir.k === 'attr') {
    if (ir.root === 'resource') return { known: false, field: ir.name, def: ir.def };
    return { known: true, value: accessor(ir.root, ir.name, ir.def)(req, now) };
  }
  if (ir.k === 'const') return { known: true, value: ir.value };
  const c = cond(ir, req, now);
  if (typeof c === 'boolean') return { known: true, value: c };
  throw new Error('a nested boolean over resource attributes cannot be used as a value');
}

function unsupported(reason: string): Residual {
  return { operator: 'unsupported', reason };
}

function cond(ir: IR, req: AuthorizeRequest, now: number): PartialResult {
  switch (ir.k) {
    case 'const':
      return ir.value === true;
    case 'attr': {
      const o = operand(ir, req, now);
      return o.known ? o.value === true : { operator: 'eq', field: o.field, value: true, type: o.def.type };
    }
    case 'has':
      if (ir.root === 'resource') return { operator: 'exists', field: ir.name, value: true, type: ir.def.type };
      return rawAccessor(ir.root, ir.name)(req, now) !== undefined;
    case 'not':
      return negate(cond(ir.operand, req, now));
    case 'and':
    case 'or': {
      // Left to right, as the engine: when the left side decides, the right is never evaluated (and
      // cannot raise an error).
      const l = cond(ir.left, req, now);
      if (l === (ir.k === 'or')) return l;
      const r = cond(ir.right, req, now);
      return ir.k === 'and' ? allOf([l, r]) : anyOf([l, r]);
    }
    case 'compare': {
      const l = operand(ir.left, req, now);
      const r = operand(ir.right, req, now);
      if (l.known && r.known) return compareValues(ir.op, ir.type, l.value, r.value);
      if (!l.known && !r.known) return unsupported(`compares two resource attributes (${l.field}, ${r.field})`);
      if (ir.type.list || ir.type.base === 'ip' || ir.type.base === 'cidr') {
        return unsupported(`compares a ${ir.type.list ? 'list' : ir.type.base} resource attribute`);
      }
      const [field, value, op] = l.known
        ? [r as Extract<Operand, { known: false }>, l.value, FLIP[ir.op]]
        : [l, (r as { value: unknown }).value, ir.op];
      return { operator: OP[op], field: field.field, value, type: field.def.type };
    }
    case 'in': {
      const l = operand(ir.left, req, now);
      const r = operand(ir.right, req, now);
      if (l.known && r.known) return isMember(ir.mode, ir.base, l.value, r.value);
      if (
        ir.mode !== 'member' ||
        (ir.base !== 'string' && ir.base !== 'number' && ir.base !== 'bool' && ir.base !== 'time')
      ) {
        return unsupported('an address-in-range test on a resource attribute');
      }
      if (!l.known && r.known) {
        return (r.value as unknown[]).length === 0
          ? false
          : { operator: 'in', field: l.field, value: r.value, type: l.def.type };
      }
      if (l.known && !r.known) return { operator: 'contains', field: r.field, value: l.value, type: r.def.type };
      return unsupported('membership between two resource attributes');
    }
  }
}

/** `and` of partial results, with constants folded and nested `and`s flattened. */
export function allOf(items: PartialResult[]): PartialResult {
  const rest: Residual[] = [];
  for (const x of items) {
    if (x === false) return false;
    if (x !== true) rest.push(...(x.operator === 'and' ? x.value : [x]));
  }
  return rest.length === 0 ? true : rest.length === 1 ? rest[0]! : { operator: 'and', value: rest };
}

/** `or` of partial results, with constants folded and nested `or`s flattened. */
export function anyOf(items: PartialResult[]): PartialResult {
  const rest: Residual[] = [];
  for (const x of items) {
    if (x === true) return true;
    if (x !== false) rest.push(...(x.operator === 'or' ? x.value : [x]));
  }
  return rest.length === 0 ? false : rest.length === 1 ? rest[0]! : { operator: 'or', value: rest };
}

export function negate(x: PartialResult): PartialResult {
  if (typeof x === 'boolean') return !x;
  return x.operator === 'not' ? x.value : { operator: 'not', value: x };
}

export function findUnsupported(r: PartialResult): string | undefined {
  if (typeof r === 'boolean') return undefined;
  switch (r.operator) {
    case 'unsupported':
      return r.reason;
    case 'and':
    case 'or':
      for (const x of r.value) {
        const u = findUnsupported(x);
        if (u) return u;
      }
      return undefined;
    case 'not':
      return findUnsupported(r.value);
    default:
      return undefined;
  }
}
