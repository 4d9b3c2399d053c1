// A request naming a principal type, action or resource type the schema does not declare is a client
// error (400, with the path of the field), not a decision.
import { unknownNames, type Engine } from '../engine/index.js';
import { HttpError, type ErrorCode } from './errors.js';

const CODES: Record<string, ErrorCode> = {
  'unknown-principal-type': 'unknown_principal_type',
  'unknown-action': 'unknown_action',
  'unknown-resource-type': 'unknown_resource_type',
};

export function rejectUnknownNames(
  engine: Engine,
  names: { principalType?: string; action?: string; resourceType?: string },
  paths: { principalType?: string; action?: string; resourceType?: string },
): void {
  const { schema } = engine.policySet;
  // The common case costs three lookups and no allocation.
  if (
    (names.principalType === undefined || schema.principals.has(names.principalType)) &&
    (names.action === undefined || schema.actions.includes(names.action)) &&
    (names.resourceType === undefined || schema.resources.has(names.resourceType))
  ) return;
  const [first] = unknownNames(engine.policySet, names);
  const key = first!.code === 'unknown-principal-type' ? 'principalType' : first!.code === 'unknown-action' ? 'action' : 'resourceType';
  throw new HttpError(CODES[first!.code]!, first!.message, paths[key]);
}
