import { z } from 'zod';
import { Description, Name } from './common.js';

const TestEntity = z.strictObject({
  type: Name,
  id: z.string().min(1),
  attributes: z.record(z.string(), z.unknown()).default({}),
});

const OneOrMore = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const SuiteTest = z.strictObject({
  name: z.string().min(1),
  description: Description.optional(),
  /** Names from the suite's `principals` (one or several: every combination is tested). */
  principal: OneOrMore,
  resource: OneOrMore,
  /** A name from the suite's `contexts`, or the context itself. */
  context: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
  /** Overrides the suite's `now` (RFC 3339) for this test. */
  now: z.string().optional(),
  /** Expected outcome per action. */
  expect: z
    .record(Name, z.enum(['allow', 'deny']))
    .refine((e) => Object.keys(e).length > 0, 'expect at least one action'),
});

/** A policy test suite (`tests/*.yaml` beside the policies). */
export const SuiteFile = z.strictObject({
  name: z.string().min(1),
  description: Description.optional(),
  now: z.string().optional(),
  principals: z.record(z.string(), TestEntity),
  resources: z.record(z.string(), TestEntity),
  contexts: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  tests: z.array(SuiteTest).min(1),
});
export type SuiteFile = z.infer<typeof SuiteFile>;
export type SuiteTest = z.infer<typeof SuiteTest>;
