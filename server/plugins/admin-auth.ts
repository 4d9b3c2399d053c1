// Admin endpoints need `Authorization: Bearer <admin token>`; without a configured token they do not exist.
// Both checks are `onRequest` hooks: they run before the body is read, parsed or validated, so a caller
// without the token learns nothing about what a body should look like.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

function checkBearer(request: FastifyRequest, expected: Buffer, what: string): void {
  // The scheme is case-insensitive (RFC 7235 §2.1).
  const match = /^bearer +(.+)$/i.exec(request.headers.authorization ?? '');
  // Compare digests in constant time: neither the token's length nor its prefix leaks through timing.
  if (!match || !timingSafeEqual(digest(match[1]!), expected))
    throw new HttpError('unauthorized', `a valid bearer token is required for ${what}`);
}

/** Admin endpoints: a bearer token is required, and without a configured token they do not exist. */
export function requireAdmin(token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (!expected)
      throw new HttpError(
        'not_found',
        `no route ${request.method} ${request.url} (admin endpoints are disabled: no admin token is configured)`,
      );
    checkBearer(request, expected, 'admin endpoints');
  };
}

/** Decision endpoints: the Authorization header is ignored unless a token is configured, then required. */
export function requireBearer(token: string | undefined, what: string) {
  const expected = token === undefined ? undefined : digest(token);
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (expected) checkBearer(request, expected, what);
  };
}
