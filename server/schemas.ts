// HTTP shapes. zod is the single source: bodies are validated with the JSON Schema generated from them
// (body/body-schema.ts), and zod runs only on the error path to word the 400.
import { z } from 'zod';
import { formatted } from './body/body-schema.js';

// The decision API's shapes live in api/ (the client is typed from them too).
export {
  BatchRequest,
  BatchResponse,
  CredentialPrincipal,
  describeInvalid,
  ErrorResponse,
  HttpAuthorizeRequest,
} from '../api/authorize.js';

const Rfc3339 = formatted('fleetguard-rfc3339', 'an RFC 3339 time such as 2027-01-01T00:00:00Z');

export const ProvisionRequest = z.object({
  provisioningKey: z.string().min(1),
  deviceId: z.string().min(1).max(200),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const ProvisioningKeyRequest = z.object({
  fleet: z.string().min(1),
  organization: z.string().min(1),
  expiresAt: Rfc3339,
  allowedCidrs: z.array(formatted('fleetguard-cidr', 'a CIDR range such as 203.0.113.0/24')).optional(),
  maxRegistrations: z.number().int().min(0).optional(),
  singleUse: z.boolean().optional(),
});

const RoleList = z.array(z.string().min(1)).optional();
export const UserRecord = z.object({
  id: z.string().min(1),
  adminOf: RoleList,
  memberOf: RoleList,
  developerOf: RoleList,
  operatorOf: RoleList,
  observerOf: RoleList,
});
export const UsersImport = z.object({ users: z.array(UserRecord).min(1) });
export type UserRecord = z.infer<typeof UserRecord>;

/** A user record as an entity of type `user`; roles not given take the schema's defaults when decided. */
export function userEntity(u: UserRecord): { type: string; id: string; attributes: Record<string, unknown> } {
  const { id, ...roles } = u;
  return { type: 'user', id, attributes: roles };
}

/** Where a problem found in `userEntity(users[i])` is in `{ users: [...] }`: roles are fields of the record. */
export function userPath([index, part, ...rest]: (string | number)[]): (string | number)[] {
  return part === 'attributes' ? ['users', index!, ...rest] : ['users', index!];
}
