// The typed, checked form of a condition: what the compiler, the partial evaluator and the tools consume.
// Literals are already converted (times to epoch ms, addresses and ranges parsed).
import type { CompareOp, Root } from './ast.js';
import type { MembershipMode } from './values.js';
import type { ScalarType, ValueType } from './types.js';

export interface AttributeDef {
  type: ValueType;
  optional: boolean;
  /** Converted run-time value used when the attribute is absent. */
  default?: unknown;
  description?: string;
}

export interface EntityTypeDef {
  name: string;
  description?: string;
  attributes: Map<string, AttributeDef>;
}

export type IR =
  | { k: 'const'; type: ValueType; value: unknown }
  | { k: 'attr'; root: Root; name: string; def: AttributeDef }
  | { k: 'has'; root: Root; name: string; def: AttributeDef }
  | { k: 'not'; operand: IR }
  | { k: 'and' | 'or'; left: IR; right: IR }
  | { k: 'compare'; op: CompareOp; type: ValueType; left: IR; right: IR }
  | { k: 'in'; mode: MembershipMode; base: ScalarType | 'any'; left: IR; right: IR };

export const TRUE_IR: IR = { k: 'const', type: { base: 'bool', list: false }, value: true };

export function conjunction(parts: IR[]): IR {
  if (parts.length === 0) return TRUE_IR;
  return parts.reduce((left, right) => ({ k: 'and', left, right }));
}

export const ID_ATTRIBUTE: AttributeDef = { type: { base: 'string', list: false }, optional: false };

/** Every node of a condition, depth first (for tools that collect from conditions). */
export function* nodesOf(ir: IR): Generator<IR> {
  yield ir;
  switch (ir.k) {
    case 'and':
    case 'or':
    case 'compare':
    case 'in':
      yield* nodesOf(ir.left);
      yield* nodesOf(ir.right);
      break;
    case 'not':
      yield* nodesOf(ir.operand);
      break;
    default:
      break;
  }
}
