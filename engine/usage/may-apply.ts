// Whether a rule may apply to a principal that is known only in part: a role (a user holding `adminOf`
// and nothing else) or a principal as the decision log or the store knows it. partialEvaluate takes the
// principal and the context as known and leaves the resource open; here the parts not known are moved to
// the open side (read as resource attributes under their own names), so the same partial evaluation
// answers "false for every resource and context" (never), "true whatever they are" (always) or a residual
// (maybe).
import { partialEvaluate } from '../lang/partial-evaluate.js';
import type { IR } from '../lang/ir.js';
import { EvaluationError } from '../lang/values.js';
import type { CompiledRule, Entity } from '../types.js';

export type Applies = 'never' | 'maybe' | 'always';

/** A principal with the attributes known about it; every other attribute, and the context, is open. */
export interface PartialPrincipal {
  principal: Entity;
  /** Names of the principal's attributes (`id` included) whose value `principal` gives. */
  known: ReadonlySet<string>;
}

function open(ir: IR, known: ReadonlySet<string>): IR {
  switch (ir.k) {
    case 'attr':
    case 'has':
      if ((ir.root === 'principal' && !known.has(ir.name)) || ir.root === 'context')
        return { ...ir, root: 'resource', name: `${ir.root}.${ir.name}` };
      return ir;
    case 'not':
      return { ...ir, operand: open(ir.operand, known) };
    case 'and':
    case 'or':
    case 'compare':
    case 'in':
      return { ...ir, left: open(ir.left, known), right: open(ir.right, known) };
    default:
      return ir;
  }
}

/** The rule's condition with the open parts moved, per rule and set of known names (many principals share one). */
const opened = new WeakMap<CompiledRule, Map<string, IR>>();

function openedIr(rule: CompiledRule, known: ReadonlySet<string>): IR {
  const key = [...known].sort().join('\0');
  let byKnown = opened.get(rule);
  if (!byKnown) opened.set(rule, (byKnown = new Map()));
  let ir = byKnown.get(key);
  if (!ir) byKnown.set(key, (ir = open(rule.ir, known)));
  return ir;
}

export function mayApply(rule: CompiledRule, who: PartialPrincipal): Applies {
  try {
    const r = partialEvaluate(openedIr(rule, who.known), { principal: who.principal, context: {}, now: 0 });
    return r === true ? 'always' : r === false ? 'never' : 'maybe';
  } catch (e) {
    // A known attribute that is missing or mistyped: the engine fails closed, so the rule never allows.
    if (e instanceof EvaluationError) return 'never';
    return 'maybe';
  }
}
