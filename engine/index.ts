// The package's public surface: the engine and the tools built on it.
export { loadEngine, loadPolicySet, compilePolicyDir } from './load-engine.js';
export { createEngine, type Engine, type EngineOptions } from './engine.js';
export { decisionIdGenerator } from './decision-id.js';
export { compilePolicies, STAGES, type CompileResult } from './compile/compile-policies.js';
export { authorize, isAllowed, REASONS, unknownNames } from './decide/authorize.js';
export {
  buildAbility,
  caslRulesFor,
  caslSubject,
  NotExpressibleError,
  type CaslRule,
  type FleetAbility,
} from './decide/casl.js';
export { explain, renderExplanation, type Explanation, type RuleTrace } from './explain/explain.js';
export { partialEvaluate, type Residual, type PartialResult } from './lang/partial-evaluate.js';
export { DIAGNOSTIC_CODES, PolicyError, formatDiagnostic, type Diagnostic } from './diagnostics.js';
export { readPolicySources, readSuiteSources } from './load/read-policy-dir.js';
export {
  AuthorizeRequest as AuthorizeRequestSchema,
  Decision as DecisionSchema,
  Entity as EntitySchema,
} from './schema/request.js';
export type * from './types.js';
export { planQuery, type Plan, type PlanRequest, type Condition as PlanCondition } from './plan/plan-query.js';
export { clientRules, type ClientRules } from './plan/client-rules.js';
export { PlanRequest as PlanRequestSchema, RulesRequest as RulesRequestSchema } from './schema/request.js';
export { jsonSchemas } from './schema/json-schemas.js';
