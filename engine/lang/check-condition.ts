// Type-checks a parsed condition against the schema and lowers it to IR. Errors are collected, not thrown.
import { didYouMean, type DiagnosticCode } from '../diagnostics.js';
import type { AttrExpr, Expr, Span } from './ast.js';
import { ID_ATTRIBUTE, type AttributeDef, type EntityTypeDef, type IR } from './ir.js';
import { BOOL, sameType, typeName, type ValueType } from './types.js';
import { convertScalar, type MembershipMode } from './values.js';

/** What a condition may read: the principal types and resource types it applies to, and the context. */
export interface Scope {
  principals: EntityTypeDef[];
  resources: EntityTypeDef[];
  context: Map<string, AttributeDef>;
}

export interface CheckError {
  code: DiagnosticCode;
  message: string;
  span: Span;
  hint?: string;
}

class CheckFailure extends Error {
  constructor(readonly error: CheckError) {
    super(error.message);
  }
}

function fail(code: DiagnosticCode, span: Span, message: string, hint?: string): never {
  throw new CheckFailure(hint === undefined ? { code, span, message } : { code, span, message, hint });
}

export function checkCondition(expr: Expr, scope: Scope): { ir: IR } | { error: CheckError } {
  try {
    const checked = infer(expr, scope);
    if (!isBool(checked.type)) {
      fail('type-mismatch', expr.span, `a condition must be true or false, but this is a ${typeName(checked.type)}`);
    }
    return { ir: checked.ir };
  } catch (e) {
    if (e instanceof CheckFailure) return { error: e.error };
    throw e;
  }
}

interface Checked {
  ir: IR;
  type: ValueType;
}

const isBool = (t: ValueType) => t.base === 'bool' && !t.list;
const isLiteral = (e: Expr) => e.kind === 'literal' || e.kind === 'list';

function lookup(attr: AttrExpr, scope: Scope): AttributeDef {
  if (attr.root === 'context') {
    const def = scope.context.get(attr.name);
    if (!def) {
      fail(
        'unknown-attribute',
        attr.span,
        `unknown context attribute \`${attr.name}\``,
        didYouMean(attr.name, scope.context.keys()),
      );
    }
    return def;
  }
  if (attr.name === 'id') return ID_ATTRIBUTE;
  const types = attr.root === 'principal' ? scope.principals : scope.resources;
  let found: AttributeDef | undefined;
  for (const t of types) {
    const def = t.attributes.get(attr.name);
    if (!def) {
      fail(
        'unknown-attribute',
        attr.span,
        `${attr.root} type \`${t.name}\` has no attribute \`${attr.name}\``,
        didYouMean(attr.name, ['id', ...t.attributes.keys()]),
      );
    }
    if (found && !sameType(found.type, def.type)) {
      fail(
        'type-mismatch',
        attr.span,
        `\`${attr.root}.${attr.name}\` has different types across the listed ${attr.root} types`,
      );
    }
    found ??= def;
  }
  if (!found) fail('unknown-attribute', attr.span, `no ${attr.root} type is in scope`);
  return found;
}

function infer(e: Expr, scope: Scope): Checked {
  switch (e.kind) {
    case 'literal': {
      checkFinite(e);
      const base = typeof e.value === 'string' ? 'string' : typeof e.value === 'number' ? 'number' : 'bool';
      return { ir: { k: 'const', type: { base, list: false }, value: e.value }, type: { base, list: false } };
    }
    case 'list': {
      if (e.items.length === 0) {
        const type: ValueType = { base: 'any', list: true };
        return { ir: { k: 'const', type, value: [] }, type };
      }
      const first = infer(e.items[0]!, scope);
      return coerce(e, { base: first.type.base, list: true });
    }
    case 'attr': {
      const def = lookup(e, scope);
      return { ir: { k: 'attr', root: e.root, name: e.name, def }, type: def.type };
    }
    case 'has': {
      const def = lookup(e.target, scope);
      return { ir: { k: 'has', root: e.target.root, name: e.target.name, def }, type: BOOL };
    }
    case 'not': {
      const operand = expectBool(e.operand, scope, '`not`');
      return { ir: { k: 'not', operand }, type: BOOL };
    }
    case 'and':
    case 'or': {
      const word = e.kind === 'and' ? '`and`' : '`or`';
      return {
        ir: { k: e.kind, left: expectBool(e.left, scope, word), right: expectBool(e.right, scope, word) },
        type: BOOL,
      };
    }
    case 'compare': {
      const [left, right] = inferPair(e.left, e.right, scope);
      if (!sameType(left.type, right.type)) {
        fail('type-mismatch', e.span, `cannot compare a ${typeName(left.type)} with a ${typeName(right.type)}`);
      }
      const ordered = e.op !== '==' && e.op !== '!=';
      if (ordered && (left.type.list || (left.type.base !== 'number' && left.type.base !== 'time'))) {
        fail('type-mismatch', e.span, `\`${e.op}\` compares numbers or times, not a ${typeName(left.type)}`);
      }
      const type = left.type.base === 'any' ? right.type : left.type;
      return { ir: { k: 'compare', op: e.op, type, left: left.ir, right: right.ir }, type: BOOL };
    }
    case 'in':
      return inferIn(e, scope);
  }
}

function expectBool(e: Expr, scope: Scope, what: string): IR {
  const c = infer(e, scope);
  if (!isBool(c.type)) fail('type-mismatch', e.span, `${what} needs a true/false operand, not a ${typeName(c.type)}`);
  return c.ir;
}

/** Infers the non-literal side first so a literal can be read as that side's type ("2026-01-01" as a time). */
function inferPair(l: Expr, r: Expr, scope: Scope): [Checked, Checked] {
  if (isLiteral(l) && !isLiteral(r)) {
    const right = infer(r, scope);
    return [coerce(l, right.type), right];
  }
  const left = infer(l, scope);
  return [left, isLiteral(r) ? coerce(r, left.type) : infer(r, scope)];
}

function inferIn(e: Extract<Expr, { kind: 'in' }>, scope: Scope): Checked {
  const leftLiteral = isLiteral(e.left);
  let left = leftLiteral ? undefined : infer(e.left, scope);
  let right: Checked;
  if (isLiteral(e.right)) {
    if (!left) left = infer(e.left, scope);
    const element = left.type.base === 'ip' && !left.type.list ? 'cidr' : left.type.base;
    right =
      e.right.kind === 'literal' && element === 'cidr'
        ? coerce(e.right, { base: 'cidr', list: false })
        : coerce(e.right, { base: element, list: true });
  } else {
    right = infer(e.right, scope);
    if (!left) {
      const element = right.type.base === 'cidr' ? 'ip' : right.type.base;
      left = coerce(e.left, { base: element, list: false });
    }
  }
  const lt = left.type;
  const rt = right.type;
  let mode: MembershipMode;
  if (lt.base === 'ip' && !lt.list && rt.base === 'cidr') {
    mode = rt.list ? 'ip-in-cidrs' : 'ip-in-cidr';
  } else if (rt.list && !lt.list && (rt.base === lt.base || rt.base === 'any')) {
    mode = 'member';
  } else {
    fail(
      'type-mismatch',
      e.span,
      `\`in\` needs a list of ${typeName(lt)} on its right (or CIDRs for an ip), not a ${typeName(rt)}`,
    );
  }
  return { ir: { k: 'in', mode, base: lt.base, left: left.ir, right: right.ir }, type: BOOL };
}

/** Reads a literal (or list literal) as `target`, converting time, ip and cidr strings at compile time. */
function coerce(e: Expr, target: ValueType): Checked {
  if (e.kind === 'list') {
    if (!target.list) fail('type-mismatch', e.span, `expected a ${typeName(target)}, found a list`);
    const element: ValueType = { base: target.base, list: false };
    const values = e.items.map((item) => {
      if (item.kind !== 'literal') fail('type-mismatch', item.span, 'list items must be literals');
      return literalValue(item, element);
    });
    return { ir: { k: 'const', type: target, value: values }, type: target };
  }
  if (e.kind !== 'literal') return fail('type-mismatch', e.span, 'expected a literal');
  if (target.list) fail('type-mismatch', e.span, `expected a ${typeName(target)}, found a single value`);
  return { ir: { k: 'const', type: target, value: literalValue(e, target) }, type: target };
}

/**
 * A number literal beyond ±1.8e308 reads as ±Infinity, which JSON (the generated code, plans, logs) writes
 * as `null`: such a rule would decide differently from what its plan says, so it does not compile.
 */
function checkFinite(e: Extract<Expr, { kind: 'literal' }>): void {
  if (typeof e.value === 'number' && !Number.isFinite(e.value)) {
    fail('invalid-literal', e.span, 'this number is too large to represent (numbers lie within ±1.8e308)');
  }
}

function literalValue(e: Extract<Expr, { kind: 'literal' }>, target: ValueType): unknown {
  checkFinite(e);
  if (target.base === 'any') return e.value;
  const v = convertScalar(target.base, e.value);
  if (v === undefined) {
    const wanted =
      target.base === 'time'
        ? 'an RFC 3339 time such as "2026-01-01T00:00:00Z"'
        : target.base === 'cidr'
          ? 'a CIDR range such as "10.0.0.0/8"'
          : `a ${target.base}`;
    fail(
      typeof e.value === 'string' && ['time', 'ip', 'cidr'].includes(target.base) ? 'invalid-literal' : 'type-mismatch',
      e.span,
      `${JSON.stringify(e.value)} is not ${wanted}`,
    );
  }
  return v;
}
