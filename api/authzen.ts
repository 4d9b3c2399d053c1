// AuthZEN Authorization API 1.0 shapes (zod), shared by the server's routes, which validate with them, and
// the client, which is typed from them. Unknown fields are ignored, as the spec asks; types are checked
// strictly. Only zod is imported here, so a client pulls in no server code.
import { z } from 'zod';

const Properties = z.record(z.string(), z.unknown());
export const AzEntity = z.object({ type: z.string().min(1), id: z.string().min(1), properties: Properties.optional() });
export const AzAction = z.object({ name: z.string().min(1), properties: Properties.optional() });
export const AzContext = z.record(z.string(), z.unknown());
export type AzEntity = z.infer<typeof AzEntity>;
export type AzAction = z.infer<typeof AzAction>;

export const AzEvaluation = z.object({
  subject: AzEntity,
  action: AzAction,
  resource: AzEntity,
  context: AzContext.optional(),
});
export type AzEvaluation = z.infer<typeof AzEvaluation>;
export const Semantic = z.enum(['execute_all', 'deny_on_first_deny', 'permit_on_first_permit']);

/**
 * Items are checked one by one after the defaults are applied: an invalid item is a deny, not a 400. At
 * most `limit` items (--batch-limit), as in /v1/authorize/batch.
 */
export const AzEvaluations = (limit: number) =>
  z.object({
    subject: AzEntity.optional(),
    action: AzAction.optional(),
    resource: AzEntity.optional(),
    context: AzContext.optional(),
    evaluations: z.array(z.unknown()).max(limit).optional(),
    options: z
      .object({
        evaluations_semantic: Semantic.optional(),
        /** Fleetguard extension: each item also carries its decision's context (id, rules, revision). */
        include_context: z.boolean().optional(),
      })
      .optional(),
  });
export type AzEvaluations = z.infer<ReturnType<typeof AzEvaluations>>;

const AzPage = z.object({ token: z.string().optional(), limit: z.number().int().min(1).max(10_000).optional() });
export type AzPage = z.infer<typeof AzPage>;
const Page = AzPage.optional();
const TypedEntity = z.object({ type: z.string().min(1), id: z.string().optional(), properties: Properties.optional() });

export const AzSubjectSearch = z.object({
  subject: TypedEntity,
  action: AzAction,
  resource: AzEntity,
  context: AzContext.optional(),
  page: Page,
});
export const AzResourceSearch = z.object({
  subject: AzEntity,
  action: AzAction,
  resource: TypedEntity,
  context: AzContext.optional(),
  page: Page,
});
export const AzActionSearch = z.object({
  subject: AzEntity,
  resource: AzEntity,
  context: AzContext.optional(),
  page: Page,
});
export type AzSubjectSearch = z.infer<typeof AzSubjectSearch>;
export type AzResourceSearch = z.infer<typeof AzResourceSearch>;
export type AzActionSearch = z.infer<typeof AzActionSearch>;

/** What a PDP answers to an evaluation: `context` is free-form (Fleetguard puts the decision's id, rules and revision there). */
export const AzDecision = z.object({ decision: z.boolean(), context: z.record(z.string(), z.unknown()).optional() });
export type AzDecision = z.infer<typeof AzDecision>;
export const AzEvaluationsResponse = z.object({ evaluations: z.array(AzDecision) });
export type AzEvaluationsResponse = z.infer<typeof AzEvaluationsResponse>;

const SearchPage = z.object({ next_token: z.string() }).optional();
const SearchContext = z.record(z.string(), z.unknown()).optional();
export const AzEntitySearchResponse = z.object({
  results: z.array(z.object({ type: z.string(), id: z.string() })),
  page: SearchPage,
  context: SearchContext,
});
export type AzEntitySearchResponse = z.infer<typeof AzEntitySearchResponse>;
export const AzActionSearchResponse = z.object({
  results: z.array(z.object({ name: z.string() })),
  page: SearchPage,
  context: SearchContext,
});
export type AzActionSearchResponse = z.infer<typeof AzActionSearchResponse>;
