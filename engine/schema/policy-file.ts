import { z } from 'zod';
import { Description, Condition, Name, Selector } from './common.js';

export const Rule = z.strictObject({
  id: Name,
  description: Description.min(1, 'every rule needs a description for auditors'),
  effect: z.enum(['allow', 'deny']),
  principal: Name,
  actions: Selector,
  resources: Selector,
  when: Condition.optional(),
});
export type Rule = z.infer<typeof Rule>;

/** A policy file: rules, each allowing or denying actions of one principal type on resource types. */
export const PolicyFile = z.strictObject({
  description: Description.optional(),
  rules: z.array(Rule),
});
export type PolicyFile = z.infer<typeof PolicyFile>;
