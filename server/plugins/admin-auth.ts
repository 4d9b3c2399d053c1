// Admin endpoints need `Authorization: Bearer <admin token>`; without a configured token they do not exist.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function requireAdmin(token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (!expected) throw new HttpError('not_found', `no route ${request.method} ${request.url} (admin endpoints are disabled: no admin token is configured)`);
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    // Compare digests in constant time: neither the token's length nor its prefix leaks through timing.
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) throw new HttpError('unauthorized', 'a valid admin bearer token is required');
  };
}
