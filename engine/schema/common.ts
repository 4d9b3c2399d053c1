import { z } from 'zod';
import { TYPE_NAME_PATTERN } from '../lang/types.js';

export const Name = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'use letters, digits, `_` and `-`, starting with a letter or `_`');

/** Free text for people; trimmed, so a folded YAML scalar (`>`) does not bring its final newline along. */
export const Description = z.string().trim();

/** `*` (everything), a list of names, or `{ except: [...] }` (everything but). */
export const Selector = z.union([
  z.literal('*'),
  z.array(z.union([Name, z.literal('*')])).min(1),
  z.strictObject({ except: z.array(Name).min(1) }),
]);
export type Selector = z.infer<typeof Selector>;

/** One condition, or a list of conditions that must all hold (each read aloud as "and"). */
export const Condition = z.union(
  [z.string().min(1), z.boolean().transform(String), z.array(z.string().min(1)).min(1)],
  { error: 'a condition is text such as `resource.fleet == principal.fleet`, or a list of them that must all hold' },
);
export type Condition = z.infer<typeof Condition>;

export const TypeName = z
  .string()
  .regex(TYPE_NAME_PATTERN, 'a type is string, number, bool, time, ip, cidr or list<…> of one, with `?` when optional');
