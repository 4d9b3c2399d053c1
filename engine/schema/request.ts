// The decision contract (README, "The sidecar"): one zod source for the engine's types, the HTTP validation and
// the OpenAPI document.
import { z } from 'zod';

export const Entity = z.object({
  type: z.string().min(1),
  id: z.string().min(1),
  attributes: z.record(z.string(), z.unknown()).optional(),
});
export type Entity = z.infer<typeof Entity>;

export const Context = z.record(z.string(), z.unknown());

export const AuthorizeRequest = z.object({
  principal: Entity,
  action: z.string().min(1),
  resource: Entity,
  context: Context.optional(),
});
export type AuthorizeRequest = z.infer<typeof AuthorizeRequest>;

export const RuleRef = z.object({
  policy: z.string(),
  rule: z.string(),
  effect: z.enum(['allow', 'deny']),
});
export type RuleRef = z.infer<typeof RuleRef>;

export const DecisionError = z.object({
  code: z.string(),
  message: z.string(),
  policy: z.string().optional(),
  rule: z.string().optional(),
});
export type DecisionError = z.infer<typeof DecisionError>;

export const Decision = z.object({
  decision: z.enum(['allow', 'deny']),
  allowed: z.boolean(),
  decisionId: z.string(),
  policyRevision: z.string(),
  matched: z.array(RuleRef),
  reason: z.string().optional(),
  errors: z.array(DecisionError).optional(),
});
export type Decision = z.infer<typeof Decision>;

export const PlanRequest = z.object({
  principal: Entity,
  action: z.string().min(1),
  resourceType: z.string().min(1),
  context: Context.optional(),
  /** attribute → column name in the caller's table (default: the attribute name). */
  columns: z.record(z.string(), z.string().min(1)).optional(),
});

export const RulesRequest = z.object({
  principal: Entity,
  context: Context.optional(),
});
