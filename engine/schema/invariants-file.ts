import { z } from 'zod';
import { Description, Condition, Name, Selector } from './common.js';

/** For every request in scope: if it is allowed, `allowedOnlyIf` holds (`false`: it is never allowed). */
export const InvariantCheck = z.strictObject({
  principals: Selector.default('*'),
  actions: Selector.default('*'),
  resources: Selector.default('*'),
  allowedOnlyIf: z.union([z.literal(false), Condition]),
});

export const Invariant = z.union([
  z.strictObject({ id: Name, description: Description.min(1), checks: z.array(InvariantCheck).min(1) }),
  z.strictObject({
    id: Name,
    description: Description.min(1),
    /** default-deny: any principal type, action and resource type that no rule covers is denied. */
    builtin: z.literal('default-deny'),
  }),
]);

export const InvariantsFile = z.strictObject({
  description: Description.optional(),
  invariants: z.array(Invariant),
});
export type InvariantsFile = z.infer<typeof InvariantsFile>;
