// A request as the authorize routes receive it, made ready to decide: a principal given by its key
// (`{ "credential": "…" }`) always stands for the principal the key store says, with the store's
// attributes, whatever else the caller sends; names the schema does not declare are a 400.
import type { AuthorizeRequest, Decision, Engine } from '../engine/index.js';
import { knownNames, unknownNameError } from './known-names.js';
import type { HttpAuthorizeRequest } from './schemas.js';
import { keyIdOf, type KeyStore } from './store/key-store.js';

export const INVALID_CREDENTIAL = 'the credential is not valid';

/** A request whose key resolved to nothing: what to log (the key id, never the secret) and the deny. */
export class BadCredential {
  constructor(
    readonly request: AuthorizeRequest,
    readonly decision: Decision,
  ) {}
}

/** Thrown where no key store is at hand (a decision thread): the request thread must decide this one. */
export class NeedsKeyStore extends Error {}

/**
 * The request to decide: as sent when the principal is inline (nothing allocated: the hot path), with
 * the principal from the key store when given by a key. `index` locates the request in a batch.
 */
export function prepare(
  engine: Engine,
  keys: KeyStore | undefined,
  item: HttpAuthorizeRequest,
  index: number | undefined,
): AuthorizeRequest | BadCredential {
  let req: AuthorizeRequest;
  if ('credential' in item.principal) {
    if (!keys) throw new NeedsKeyStore();
    const principal = keys.resolve(item.principal.credential);
    if (!principal) {
      const logged = { ...item, principal: { type: 'credential', id: keyIdOf(item.principal.credential) ?? '-' } };
      return new BadCredential(
        logged,
        engine.reject(INVALID_CREDENTIAL, { code: 'invalid-credential', message: INVALID_CREDENTIAL }),
      );
    }
    req = { ...item, principal };
  } else {
    req = item as AuthorizeRequest;
  }
  if (!knownNames(engine, req.principal.type, req.action, req.resource.type)) {
    const at = index === undefined ? '' : `requests.${index}.`;
    const names = { principalType: req.principal.type, action: req.action, resourceType: req.resource.type };
    throw unknownNameError(engine, names, {
      principalType: `${at}principal.type`,
      action: `${at}action`,
      resourceType: `${at}resource.type`,
    });
  }
  return req;
}
