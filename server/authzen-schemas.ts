// AuthZEN Authorization API 1.0 shapes (zod; JSON Schema for fastify generated from them). Unknown fields
// are ignored, as the spec asks; types are checked strictly.
import { z } from 'zod';
import { compileBodyValidator } from './batch/json-body.js';
import { jsonSchema } from './schemas.js';

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
/**
 * The check of each item of a batch: AzEvaluation's JSON Schema compiled like fastify's (zod's
 * safeParse costs ~2 µs an item); zod only words the error of an invalid one. They agree (tested).
 */
export const isAzEvaluation = compileBodyValidator(jsonSchema(AzEvaluation));

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
