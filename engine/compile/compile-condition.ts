// IR → a closure tree, built once at compile time. Deciding calls closures: no AST is walked per request
// and nothing is allocated on the common paths (string equality, list membership, time comparison).
import type { AuthorizeRequest } from '../schema/request.js';
import type { AttributeDef, IR } from '../lang/ir.js';
import type { Root } from '../lang/ast.js';
import { compareValues, convertValue, EvaluationError, isMember, missingAttribute } from '../lang/values.js';

export type Evaluator = (req: AuthorizeRequest, now: number) => unknown;
export type CompiledCondition = (req: AuthorizeRequest, now: number) => boolean;

/** Reads an attribute as the caller sent it (undefined when absent). `context.time` defaults to `now`. */
export function rawAccessor(root: Root, name: string): Evaluator {
  // Names that exist on Object.prototype must be own properties, or `constructor` would read a function.
  const own = name in Object.prototype;
  const read = (bag: Record<string, unknown> | undefined) =>
    bag === undefined || (own && !Object.hasOwn(bag, name)) ? undefined : bag[name];
  if (root === 'principal') return name === 'id' ? (r) => r.principal.id : (r) => read(r.principal.attributes);
  if (root === 'resource') return name === 'id' ? (r) => r.resource.id : (r) => read(r.resource.attributes);
  if (name === 'time') return (r, now) => { const t = read(r.context); return t === undefined ? now : t; };
  return (r) => read(r.context);
}

export function accessor(root: Root, name: string, def: AttributeDef): Evaluator {
  const raw = rawAccessor(root, name);
  const where = `${root}.${name}`;
  const hasDefault = def.default !== undefined;
  const absent = () => {
    if (hasDefault) return def.default;
    throw missingAttribute(root, name);
  };
  if (def.type.base === 'string' && !def.type.list) {
    return (r, now) => {
      const v = raw(r, now);
      if (typeof v === 'string') return v;
      return v === undefined ? absent() : convertValue(def.type, v, where);
    };
  }
  return (r, now) => {
    const v = raw(r, now);
    return v === undefined ? absent() : convertValue(def.type, v, where);
  };
}

export function compileEvaluator(ir: IR): Evaluator {
  switch (ir.k) {
    case 'const': {
      const value = ir.value;
      return () => value;
    }
    case 'attr':
      return accessor(ir.root, ir.name, ir.def);
    case 'has': {
      const raw = rawAccessor(ir.root, ir.name);
      return (r, now) => raw(r, now) !== undefined;
    }
    case 'not': {
      const f = compileEvaluator(ir.operand);
      return (r, now) => !f(r, now);
    }
    case 'and': {
      const l = compileEvaluator(ir.left);
      const rt = compileEvaluator(ir.right);
      return (r, now) => (l(r, now) as boolean) && (rt(r, now) as boolean);
    }
    case 'or': {
      const l = compileEvaluator(ir.left);
      const rt = compileEvaluator(ir.right);
      return (r, now) => (l(r, now) as boolean) || (rt(r, now) as boolean);
    }
    case 'compare': {
      const l = compileEvaluator(ir.left);
      const rt = compileEvaluator(ir.right);
      const { op, type } = ir;
      const primitive = !type.list && (type.base === 'string' || type.base === 'number' || type.base === 'bool' || type.base === 'time');
      if (primitive) {
        switch (op) {
          case '==': return (r, now) => l(r, now) === rt(r, now);
          case '!=': return (r, now) => l(r, now) !== rt(r, now);
          case '<': return (r, now) => (l(r, now) as number) < (rt(r, now) as number);
          case '<=': return (r, now) => (l(r, now) as number) <= (rt(r, now) as number);
          case '>': return (r, now) => (l(r, now) as number) > (rt(r, now) as number);
          case '>=': return (r, now) => (l(r, now) as number) >= (rt(r, now) as number);
        }
      }
      return (r, now) => compareValues(op, type, l(r, now), rt(r, now));
    }
    case 'in': {
      const l = compileEvaluator(ir.left);
      const rt = compileEvaluator(ir.right);
      const { mode, base } = ir;
      if (mode === 'member' && (base === 'string' || base === 'number' || base === 'bool' || base === 'time')) {
        return (r, now) => (rt(r, now) as unknown[]).includes(l(r, now));
      }
      return (r, now) => isMember(mode, base, l(r, now), rt(r, now));
    }
  }
}

export function compileCondition(ir: IR): CompiledCondition {
  if (ir.k === 'const') {
    const value = ir.value === true;
    return () => value;
  }
  return compileEvaluator(ir) as CompiledCondition;
}

export { EvaluationError };
