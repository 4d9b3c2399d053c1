// A deliberately naive model of the decision semantics: walks the IR of every rule of the policy set
// (no index, no closures) and combines outcomes by the book. The engine must agree with it.
import type { AuthorizeRequest, PolicySet } from '../../engine/index.js';
import type { IR } from '../../engine/lang/ir.js';
import { compareValues, convertValue, isMember } from '../../engine/lang/values.js';

class Missing extends Error {}

function read(ir: Extract<IR, { k: 'attr' | 'has' }>, req: AuthorizeRequest, now: number): unknown {
  if (ir.root !== 'context' && ir.name === 'id') return ir.root === 'principal' ? req.principal.id : req.resource.id;
  const bag =
    ir.root === 'principal' ? req.principal.attributes : ir.root === 'resource' ? req.resource.attributes : req.context;
  const v = bag && Object.hasOwn(bag, ir.name) ? bag[ir.name] : undefined;
  if (v === undefined && ir.root === 'context' && ir.name === 'time') return now;
  return v;
}

function evaluate(ir: IR, req: AuthorizeRequest, now: number): unknown {
  switch (ir.k) {
    case 'const':
      return ir.value;
    case 'attr': {
      const v = read(ir, req, now);
      if (v === undefined) {
        if (ir.def.default !== undefined) return ir.def.default;
        throw new Missing();
      }
      return convertValue(ir.def.type, v, ir.name);
    }
    case 'has':
      return read(ir, req, now) !== undefined;
    case 'not':
      return !evaluate(ir.operand, req, now);
    case 'and':
      return evaluate(ir.left, req, now) === true ? evaluate(ir.right, req, now) === true : false;
    case 'or':
      return evaluate(ir.left, req, now) === true ? true : evaluate(ir.right, req, now) === true;
    case 'compare':
      return compareValues(ir.op, ir.type, evaluate(ir.left, req, now), evaluate(ir.right, req, now));
    case 'in':
      return isMember(ir.mode, ir.base, evaluate(ir.left, req, now), evaluate(ir.right, req, now));
  }
}

export function referenceDecision(set: PolicySet, req: AuthorizeRequest, now: number): boolean {
  let allowed = false;
  for (const rule of set.rules) {
    if (
      rule.principal !== req.principal.type ||
      !rule.actions.includes(req.action) ||
      !rule.resources.includes(req.resource.type)
    )
      continue;
    let holds: boolean;
    try {
      holds = evaluate(rule.ir, req, now) === true;
    } catch {
      return false; // any error: deny
    }
    if (holds && rule.effect === 'deny') return false;
    if (holds) allowed = true;
  }
  return allowed;
}
