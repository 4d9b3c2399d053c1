// A request naming a principal type, action or resource type the schema does not declare is a client
// error (400, with the path of the field), not a decision.
import { unknownNames, type Engine } from '../../engine/index.js';
import { HttpError, type ErrorCode } from '../errors.js';

const CODES: Record<string, ErrorCode> = {
  'unknown-principal-type': 'unknown_principal_type',
  'unknown-action': 'unknown_action',
  'unknown-resource-type': 'unknown_resource_type',
};

type Names = { principalType?: string | undefined; action?: string | undefined; resourceType?: string | undefined };

/** The check on the hot path: three lookups, nothing allocated. `undefined` is not asked about. */
export function knownNames(
  engine: Engine,
  principalType: string | undefined,
  action: string | undefined,
  resourceType: string | undefined,
): boolean {
  const { schema } = engine.policySet;
  return (
    (principalType === undefined || schema.principals.has(principalType)) &&
    (action === undefined || schema.actions.includes(action)) &&
    (resourceType === undefined || schema.resources.has(resourceType))
  );
}

/** The 400 for the first unknown name, with the path of its field in the body. */
export function unknownNameError(engine: Engine, names: Names, paths: Names): HttpError {
  const [first] = unknownNames(engine.policySet, names);
  const field =
    first!.code === 'unknown-principal-type'
      ? 'principalType'
      : first!.code === 'unknown-action'
        ? 'action'
        : 'resourceType';
  return new HttpError(CODES[first!.code]!, first!.message, paths[field]);
}
