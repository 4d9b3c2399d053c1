// The compiled policy set and its parts. Request and decision shapes live in schema/request.ts (zod).
import type { SourcePosition } from './diagnostics.js';
import type { AttributeDef, EntityTypeDef, IR } from './lang/ir.js';
import type { CompiledCondition } from './compile/compile-condition.js';
import type { Decider } from './decide/outcome.js';
import type { SourceFile } from './load/yaml-source.js';
import type { RuleRef } from './schema/request.js';

export type { AuthorizeRequest, Decision, DecisionError, Entity, RuleRef } from './schema/request.js';
export type { SourceFile } from './load/yaml-source.js';
export type { Diagnostic, SourcePosition } from './diagnostics.js';

export interface Schema {
  actions: string[];
  principals: Map<string, EntityTypeDef>;
  resources: Map<string, EntityTypeDef>;
  context: Map<string, AttributeDef>;
}

/** One `when` entry: its text for auditors and explain, its IR for tools, its closure for explain. */
export interface ConditionPart {
  source: string;
  at: SourcePosition;
  ir: IR;
  test: CompiledCondition;
}

export interface CompiledRule {
  ref: RuleRef;
  id: string;
  description: string;
  effect: 'allow' | 'deny';
  principal: string;
  actions: string[];
  resources: string[];
  at: SourcePosition;
  conditions: ConditionPart[];
  /** All conditions joined with `and`: what the fast path, CASL, plans and verify use. */
  ir: IR;
  test: CompiledCondition;
}

export interface InvariantCheck {
  principals: string[];
  actions: string[];
  resources: string[];
  /** Source of `allowedOnlyIf`, or `false`. */
  source: string;
  at: SourcePosition;
  ir: IR;
  test: CompiledCondition;
}

export interface InvariantDef {
  id: string;
  description: string;
  at: SourcePosition;
  builtin?: 'default-deny';
  checks: InvariantCheck[];
}

export interface Bucket {
  deny: CompiledRule[];
  allow: CompiledRule[];
}

/** principal type → action → resource type → the rules that can apply. */
export type DecisionIndex = Map<string, Map<string, Map<string, Bucket>>>;

export interface PolicySet {
  revision: string;
  schema: Schema;
  rules: CompiledRule[];
  invariants: InvariantDef[];
  index: DecisionIndex;
  /** The set's decision function, generated from the index (compile/generate-decider.ts). */
  decide: Decider;
  sources: SourceFile[];
}
