// The shapes of the sidecar's decision API (README, "The sidecar"), shared by the server, which validates bodies
// with them, and the client, which is typed from them. Only zod and the engine's zod schemas are imported
// here, so a client pulls in no server code.
import { z } from 'zod';
import { AuthorizeRequest, Decision, deepestIssue, Entity } from '../engine/schema/index.js';

/** A principal given by its key: the sidecar resolves it from the key store. */
export const CredentialPrincipal = z.object({ credential: z.string().min(1) });
export const HttpAuthorizeRequest = AuthorizeRequest.extend({
  principal: z.union([Entity, CredentialPrincipal], {
    error: 'a principal is { type, id, attributes? } or { credential }',
  }),
});
export type HttpAuthorizeRequest = z.infer<typeof HttpAuthorizeRequest>;

export const BatchRequest = (limit: number) => z.object({ requests: z.array(HttpAuthorizeRequest).min(1).max(limit) });
export const BatchResponse = z.object({ results: z.array(Decision) });
export const ErrorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), path: z.string().optional() }),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

/**
 * The first zod issue as `{ message, path }`, path in dotted form (`requests.3.principal.type`);
 * `tooBig` when it is a batch's list (`requests`, AuthZEN's `evaluations`) over its limit.
 */
export function describeInvalid(
  schema: z.ZodType,
  body: unknown,
): { message: string; path?: string; tooBig?: boolean } {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body))
    return { message: 'the body must be a JSON object' };
  const result = schema.safeParse(body);
  if (result.success) return { message: 'the body does not match the schema' };
  const issue = deepestIssue(result.error.issues[0]!);
  const path = issue.path.map(String).join('.');
  const tooBig = issue.code === 'too_big' && issue.origin === 'array' && issue.path.length === 1;
  return path === '' ? { message: issue.message, tooBig } : { message: `${path}: ${issue.message}`, path, tooBig };
}
