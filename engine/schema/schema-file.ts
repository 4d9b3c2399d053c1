import { z } from 'zod';
import { Description, Name, TypeName } from './common.js';

export const AttributeSpec = z.union([
  TypeName,
  z.strictObject({
    type: TypeName,
    optional: z.boolean().optional(),
    default: z.unknown().optional(),
    description: Description.optional(),
  }),
]);

export const EntityTypeSpec = z.strictObject({
  description: Description.optional(),
  attributes: z.record(Name, AttributeSpec).default({}),
});

/** `schema.yaml`: the principal and resource types, their attributes, the context and the actions. */
export const SchemaFile = z.strictObject({
  description: Description.optional(),
  actions: z.array(Name).min(1),
  principals: z.record(Name, EntityTypeSpec),
  resources: z.record(Name, EntityTypeSpec),
  context: z.record(Name, AttributeSpec).default({}),
});
export type SchemaFile = z.infer<typeof SchemaFile>;
