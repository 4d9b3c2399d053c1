// The sidecar's AuthZEN page tokens (the pages themselves are api/authzen/evaluate.ts's). A token is where
// a page stopped (the last candidate examined, which the caller may not have been shown), so it is
// encrypted and authenticated.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { HttpError } from './errors.js';

/**
 * Page tokens: the cursor encrypted with AES-256-GCM under a key drawn when the process starts, with the
 * digest of the query it belongs to as additional data. A token this process did not issue, altered, or
 * issued for another query fails authentication (400); tokens do not outlive the process.
 */
export class PageTokens {
  private readonly key = randomBytes(32);

  issue(query: string, cursor: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(query));
    const sealed = Buffer.concat([cipher.update(cursor, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  read(token: string, query: string): string {
    const raw = Buffer.from(token, 'base64url');
    if (raw.length >= 28 && raw.toString('base64url') === token) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
        decipher.setAAD(Buffer.from(query));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
      } catch {
        // authentication failed: not a token of this process for this query
      }
    }
    throw new HttpError(
      'invalid_request',
      'page.token is not a token this PDP issued for this search (tokens do not survive a restart)',
      'page.token',
    );
  }
}

/**
 * A digest of a search (its kind and its body without `page`): the same body with its keys in any order
 * has the same digest, as JSON has no undefined. Iterative, so no nesting depth overflows it.
 */
export function queryDigest(kind: string, query: unknown): string {
  const hash = createHash('sha256').update(kind);
  const stack: unknown[] = [query];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value instanceof Key) {
      hash.update(`${JSON.stringify(value.name)}:`);
    } else if (Array.isArray(value)) {
      hash.update(`[${value.length};`);
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
    } else if (value !== null && typeof value === 'object') {
      const keys = Object.keys(value)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort();
      hash.update(`{${keys.length};`);
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push((value as Record<string, unknown>)[keys[i]!], new Key(keys[i]!));
      }
    } else {
      hash.update(`${value === undefined ? 'undefined' : JSON.stringify(value)},`);
    }
  }
  return hash.digest('base64url');
}

/** An object key on queryDigest's stack (pushed after its value, so it is hashed first). */
class Key {
  constructor(readonly name: string) {}
}
