// Random fleets for property tests: small id pools so that "same fleet" and "other fleet" both happen
// often, every principal and resource type of the shipped schema, contexts around a fixed instant.
import fc from 'fast-check';
import type { AuthorizeRequest, Entity } from '../../engine/index.js';

export const NOW = Date.parse('2026-06-01T00:00:00Z');
export const ACTIONS = ['read', 'create', 'update', 'delete', 'register', 'ssh', 'reboot', 'manage_members'] as const;
export const RESOURCE_TYPES = [
  'organization',
  'fleet',
  'device',
  'device_variable',
  'fleet_variable',
  'release',
  'build_log',
  'image',
  'provisioning_key',
] as const;
export const PRINCIPAL_TYPES = ['user', 'device', 'provisioning_key', 'support_agent', 'service'] as const;

const orgs = ['o-0', 'o-1', 'o-2'];
const fleets = ['f-0', 'f-1', 'f-2', 'f-3'];
const devices = ['d-0', 'd-1', 'd-2', 'd-3'];
export const CIDRS = ['10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32'];
const IPS = [
  '10.1.2.3',
  '192.168.1.20',
  '192.168.2.20',
  '172.16.0.1',
  '2001:db8::1',
  '2001:dead::1',
  '::ffff:10.9.9.9',
];

const HOUR = 3_600_000;
const timeAround = fc.integer({ min: -72, max: 72 }).map((h) => new Date(NOW + h * HOUR).toISOString());

const org = fc.constantFrom(...orgs);
const fleet = fc.constantFrom(...fleets);
const device = fc.constantFrom(...devices);
const someOf = <T>(xs: T[]) => fc.subarray(xs);

export const deviceArb: fc.Arbitrary<Entity> = fc
  .record({ id: device, fleet, organization: org })
  .map(({ id, ...attributes }) => ({ type: 'device', id, attributes }));

export const provisioningKeyArb: fc.Arbitrary<Entity> = fc
  .record({
    id: fc.constantFrom('pk-0', 'pk-1'),
    fleet,
    organization: org,
    expiresAt: timeAround,
    allowedCidrs: someOf(CIDRS),
    maxRegistrations: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    registrations: fc.integer({ min: 0, max: 6 }),
    revoked: fc.boolean(),
  })
  .map(({ id, maxRegistrations, ...attributes }) => ({
    type: 'provisioning_key',
    id,
    attributes: maxRegistrations === undefined ? attributes : { ...attributes, maxRegistrations },
  }));

export const userArb: fc.Arbitrary<Entity> = fc
  .record({
    id: fc.constantFrom('u-0', 'u-1'),
    adminOf: someOf(orgs),
    memberOf: someOf(orgs),
    developerOf: someOf(fleets),
    operatorOf: someOf(fleets),
    observerOf: someOf(fleets),
  })
  .map(({ id, ...attributes }) => ({ type: 'user', id, attributes }));

export const supportAgentArb: fc.Arbitrary<Entity> = fc.constant({ type: 'support_agent', id: 's-0' });
export const serviceArb: fc.Arbitrary<Entity> = fc
  .constantFrom('builder', 'metrics', 'Builder')
  .map((name) => ({ type: 'service', id: `svc-${name}`, attributes: { name } }));

export const principalArb = fc.oneof(userArb, deviceArb, provisioningKeyArb, supportAgentArb, serviceArb);

/** A resource; given a principal, half of the ids and fleets are the principal's own, so that both the
 * "own" and the "other" side of every rule are hit often. */
export function resourceArb(principal?: Entity): fc.Arbitrary<Entity> {
  const ownFleet = principal?.attributes?.fleet as string | undefined;
  const near = <T>(own: T | undefined, pool: fc.Arbitrary<T>) =>
    own === undefined ? pool : fc.oneof(fc.constant(own), pool);
  return fc
    .record({
      // Every type, with the fleet and its content more often: that is where the interesting rules are.
      type: fc.oneof(
        fc.constantFrom(...RESOURCE_TYPES),
        fc.constantFrom('fleet', 'release', 'fleet_variable', 'device'),
      ),
      id: near(principal?.id, fc.constantFrom(...orgs, ...fleets, ...devices, 'x-0')),
      fleetId: near(ownFleet, fleet),
      fleet: near(ownFleet, fleet),
      organization: near(principal?.attributes?.organization as string | undefined, org),
      device: near(principal?.id, device),
      supportAccessUntil: fc.option(timeAround, { nil: undefined }),
    })
    .map(({ type, id, fleetId, fleet, organization, device, supportAccessUntil }) => {
      if (type === 'organization') return { type, id };
      const grant = supportAccessUntil === undefined ? {} : { supportAccessUntil };
      if (type === 'fleet') return { type, id: fleetId, attributes: { organization, ...grant } };
      const attributes: Record<string, unknown> = { fleet, organization, ...grant };
      if (type === 'device_variable') attributes.device = device;
      return { type, id, attributes };
    });
}

export const contextArb = fc
  .record({
    time: fc.option(timeAround, { nil: undefined }),
    ip: fc.option(fc.constantFrom(...IPS), { nil: undefined }),
    mfa: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)));

export function requestArb(principal: fc.Arbitrary<Entity> = principalArb): fc.Arbitrary<AuthorizeRequest> {
  // Every action, with `read` and `register` (what devices and keys are for) more often.
  const action = fc.oneof(fc.constantFrom(...ACTIONS), fc.constantFrom('read', 'register'));
  return principal.chain((p) =>
    fc.record({ principal: fc.constant(p), action, resource: resourceArb(p), context: contextArb }),
  );
}
