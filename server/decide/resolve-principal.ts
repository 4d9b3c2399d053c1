// A request as the decision API receives it, made ready to decide: a principal given by its key
// (`{ "credential": "…" }`) always stands for the principal the key store says, with the store's
// attributes, whatever else the caller sends; names the schema does not declare are a 400.
//
// With a key, the action and resource type are checked before the key is looked at, so an unknown name
// gets the same 400 whether the key is valid or not (nothing to learn about a key from it), and that 400
// is logged like any attempt with a key. The principal type then comes from the store, not the caller:
// one the served schema does not declare is the engine's deny, as for any request it has no rule for.
// Every outcome is data: the batch's callers (a decision thread among them) decide what to do with it.
import { REASONS, unknownNames, type AuthorizeRequest, type Decision, type Engine } from '../../engine/index.js';
import type { HttpAuthorizeRequest } from '../../api/authorize.js';
import type { HttpError } from '../errors.js';
import { keyIdOf } from '../store/key-store.js';
import type { KeyStore } from '../store/stores.js';
import { knownNames, unknownNameError } from './known-names.js';

export const INVALID_CREDENTIAL = 'the credential is not valid';

/** A request decided without the engine: what to log for it (the key id, never the secret) and its deny. */
export class Denied {
  constructor(
    readonly request: AuthorizeRequest,
    readonly decision: Decision,
  ) {}
}

/** A 400; with `logged` when the request presented a key (the attempt is logged, the key id and a deny). */
export class Refused {
  constructor(
    readonly error: HttpError,
    readonly logged?: Denied,
  ) {}
}

export type Resolved = AuthorizeRequest | Denied | Refused;

const pathsAt = (index: number | undefined) => {
  const at = index === undefined ? '' : `requests.${index}.`;
  return { principalType: `${at}principal.type`, action: `${at}action`, resourceType: `${at}resource.type` };
};

/**
 * The request to decide: as sent when the principal is inline (nothing allocated: the hot path), with
 * the principal from the key store when given by a key. `index` locates the request in a batch.
 */
export function resolvePrincipal(
  engine: Engine,
  keys: KeyStore,
  item: HttpAuthorizeRequest,
  index: number | undefined,
): Resolved {
  if ('credential' in item.principal) {
    const { credential } = item.principal;
    const loggedAs = () => ({ ...item, principal: { type: 'credential', id: keyIdOf(credential) ?? '-' } });
    if (!knownNames(engine, undefined, item.action, item.resource.type)) {
      const names = { action: item.action, resourceType: item.resource.type };
      const [first] = unknownNames(engine.policySet, names);
      return new Refused(
        unknownNameError(engine, names, pathsAt(index)),
        new Denied(loggedAs(), engine.reject(REASONS.unknown, first!)),
      );
    }
    // A store whose cache can no longer be trusted (out of reach too long) checks no key: a deny that says so.
    const unchecked = keys.uncheckable();
    if (unchecked !== undefined)
      return new Denied(loggedAs(), engine.reject(unchecked, { code: 'credential-unchecked', message: unchecked }));
    const principal = keys.resolve(credential);
    if (!principal)
      return new Denied(
        loggedAs(),
        engine.reject(INVALID_CREDENTIAL, { code: 'invalid-credential', message: INVALID_CREDENTIAL }),
      );
    return { ...item, principal };
  }
  const req = item as AuthorizeRequest;
  if (!knownNames(engine, req.principal.type, req.action, req.resource.type)) {
    const names = { principalType: req.principal.type, action: req.action, resourceType: req.resource.type };
    return new Refused(unknownNameError(engine, names, pathsAt(index)));
  }
  return req;
}
