// The answers of /v1/plan and /v1/rules (README, "Query plans and client rules") as zod shapes, for the client to check what it is
// sent; the requests are the engine's PlanRequest and RulesRequest. The engine's Plan and ClientRules
// types fit these shapes (a type test holds them together).
import { z } from 'zod';

export { PlanRequest, RulesRequest } from '../engine/schema/index.js';

export const PlanResponse = z.object({
  kind: z.enum(['always_allowed', 'always_denied', 'conditional']),
  /** The ucast shape: `{ operator, field, value }` and `{ operator: 'and'|'or'|'not', value }`. */
  condition: z.unknown(),
  sql: z.object({ where: z.string(), params: z.array(z.union([z.string(), z.number()])) }),
  partial: z.literal(true).optional(),
  reason: z.string().optional(),
  policyRevision: z.string(),
});
export type PlanResponse = z.infer<typeof PlanResponse>;

export const RulesResponse = z.object({
  rules: z.array(z.unknown()),
  policyRevision: z.string(),
  partial: z.literal(true).optional(),
  reason: z.string().optional(),
});
export type RulesResponse = z.infer<typeof RulesResponse>;
