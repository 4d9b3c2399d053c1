// The fleet model's invariants (docs/fleet-model.md) as fast-check properties over the shipped policies, each with an oracle written
// here in plain TypeScript (independent of invariants.yaml), and proof that the properties have teeth.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { authorize, type AuthorizeRequest, type PolicySet } from '../../engine/index.js';
import { violations } from '../../engine/invariants/check-request.js';
import {
  deviceArb,
  NOW,
  principalArb,
  provisioningKeyArb,
  requestArb,
  userArb,
  supportAgentArb,
} from '../support/fleet-arbitraries.js';
import { shippedPolicies } from '../support/policies.js';
import { depth } from '../support/depth.js';

const RUNS = { numRuns: depth(5000, 50_000) };
// A leak must be found every time, not most times: more runs than the properties themselves need.
const TEETH_RUNS = { numRuns: 20_000 };
const decide = (set: PolicySet, req: AuthorizeRequest) => authorize(set, req, NOW, 'prop');
const attr = (e: { attributes?: Record<string, unknown> }, name: string) => e.attributes?.[name];

type Property = (set: PolicySet) => fc.IPropertyWithHooks<[AuthorizeRequest]>;

const properties: Record<string, Property> = {
  'a device is never allowed anything on a resource of another fleet': (set) =>
    fc.property(requestArb(deviceArb), (req) => {
      if (!decide(set, req).allowed) return true;
      const own = attr(req.principal, 'fleet');
      if (req.resource.type === 'organization') return false;
      return req.resource.type === 'fleet' ? req.resource.id === own : attr(req.resource, 'fleet') === own;
    }),
  'a device never creates, deletes, opens shells, reboots, registers or manages members': (set) =>
    fc.property(
      requestArb(deviceArb),
      (req) =>
        !['create', 'delete', 'ssh', 'reboot', 'register', 'manage_members'].includes(req.action) ||
        !decide(set, req).allowed,
    ),
  'a provisioning key gets only register on its own fleet within its limits': (set) =>
    fc.property(requestArb(provisioningKeyArb), (req) => {
      if (!decide(set, req).allowed) return true;
      const p = req.principal.attributes!;
      const time = req.context?.time === undefined ? NOW : Date.parse(req.context.time as string);
      const ip = req.context?.ip as string | undefined;
      const cidrs = p.allowedCidrs as string[];
      const inRange =
        cidrs.length === 0 ||
        (ip !== undefined &&
          cidrs.some((c) => {
            const addr = ipaddr.process(ip);
            const [range, bits] = ipaddr.parseCIDR(c);
            return addr.kind() === range.kind() && addr.match(range, bits);
          }));
      return (
        req.action === 'register' &&
        req.resource.type === 'fleet' &&
        req.resource.id === p.fleet &&
        p.revoked === false &&
        time < Date.parse(p.expiresAt as string) &&
        inRange &&
        (p.maxRegistrations === undefined || (p.registrations as number) < (p.maxRegistrations as number))
      );
    }),
  'only the builder service creates or updates images': (set) =>
    fc.property(requestArb(principalArb), (req) => {
      if (req.resource.type !== 'image' || (req.action !== 'create' && req.action !== 'update')) return true;
      return (
        !decide(set, req).allowed || (req.principal.type === 'service' && attr(req.principal, 'name') === 'builder')
      );
    }),
  'a support agent gets nothing once the grant has lapsed': (set) =>
    fc.property(requestArb(supportAgentArb), (req) => {
      if (!decide(set, req).allowed) return true;
      const until = attr(req.resource, 'supportAccessUntil') as string | undefined;
      const time = req.context?.time === undefined ? NOW : Date.parse(req.context.time as string);
      return until !== undefined && time < Date.parse(until);
    }),
  'every allowed request keeps the invariants declared in policies/invariants.yaml': (set) =>
    fc.property(requestArb(principalArb), (req) => {
      const d = decide(set, req);
      return violations(set, req, d, NOW).length === 0;
    }),
};

describe('isolation properties over the shipped policies', () => {
  const set = shippedPolicies();
  for (const [name, property] of Object.entries(properties)) {
    it(name, () => fc.assert(property(set), RUNS));
  }

  it('default deny: unknown principal types, actions and resource types are denied with a reason', () => {
    fc.assert(
      fc.property(
        requestArb(principalArb),
        fc.constantFrom('principal', 'action', 'resource'),
        fc.string({ minLength: 1 }),
        (req, what, name) => {
          const known = [
            'user',
            'device',
            'provisioning_key',
            'support_agent',
            'service',
            'read',
            'create',
            'update',
            'delete',
            'register',
            'ssh',
            'reboot',
            'manage_members',
            'organization',
            'fleet',
            'device_variable',
            'fleet_variable',
            'release',
            'build_log',
            'image',
          ];
          fc.pre(!known.includes(name));
          const bad: AuthorizeRequest =
            what === 'action'
              ? { ...req, action: name }
              : what === 'principal'
                ? { ...req, principal: { ...req.principal, type: name } }
                : { ...req, resource: { ...req.resource, type: name } };
          const d = decide(set, bad);
          return !d.allowed && d.errors !== undefined && d.errors.length > 0;
        },
      ),
      RUNS,
    );
  });

  it('default deny: a user with no roles is denied everything', () => {
    fc.assert(
      fc.property(requestArb(userArb.map((u) => ({ ...u, attributes: {} }))), (req) => !decide(set, req).allowed),
      RUNS,
    );
  });
});

// The same properties must fail when a leaky rule is added: otherwise they prove nothing.
const LEAKS: { name: string; property: string; rule: string }[] = [
  {
    name: 'device read on fleet_variable without the fleet condition',
    property: 'a device is never allowed anything on a resource of another fleet',
    rule: `principal: device\n    actions: [read]\n    resources: [fleet_variable]`,
  },
  {
    name: 'the fleet condition with `or true` hidden in it',
    property: 'a device is never allowed anything on a resource of another fleet',
    rule: `principal: device\n    actions: [read]\n    resources: [fleet_variable]\n    when: resource.fleet == principal.fleet or true`,
  },
  {
    name: 'comparing the organization instead of the fleet',
    property: 'a device is never allowed anything on a resource of another fleet',
    rule: `principal: device\n    actions: [read]\n    resources: [release]\n    when: resource.organization == principal.organization`,
  },
  {
    name: 'several resource types where one lacks the fleet check',
    property: 'a device is never allowed anything on a resource of another fleet',
    rule: `principal: device\n    actions: [read]\n    resources: [fleet_variable, device]\n    when: resource.fleet == principal.fleet or resource.id == principal.id`,
  },
  {
    name: 'a device allowed to reboot itself',
    property: 'a device never creates, deletes, opens shells, reboots, registers or manages members',
    rule: `principal: device\n    actions: [reboot]\n    resources: [device]\n    when: resource.id == principal.id and resource.fleet == principal.fleet`,
  },
  {
    name: 'a provisioning key reading its fleet',
    property: 'a provisioning key gets only register on its own fleet within its limits',
    rule: `principal: provisioning_key\n    actions: [read]\n    resources: [fleet]\n    when: resource.id == principal.fleet`,
  },
  {
    name: 'a provisioning key registering without the expiry check',
    property: 'a provisioning key gets only register on its own fleet within its limits',
    rule: `principal: provisioning_key\n    actions: [register]\n    resources: [fleet]\n    when: resource.id == principal.fleet and principal.revoked == false`,
  },
  {
    name: 'any service writing images',
    property: 'only the builder service creates or updates images',
    rule: `principal: service\n    actions: [create]\n    resources: [image]`,
  },
];

describe('the properties have teeth', () => {
  for (const leak of LEAKS) {
    it(`catches ${leak.name}`, () => {
      const text = `rules:\n  - id: leak\n    description: injected leak\n    effect: allow\n    ${leak.rule}\n`;
      const leaky = shippedPolicies({ 'leak.yaml': text });
      const result = fc.check(properties[leak.property]!(leaky), TEETH_RUNS);
      expect(result.failed).toBe(true);
      // The declarative invariants catch it too.
      expect(
        fc.check(
          properties['every allowed request keeps the invariants declared in policies/invariants.yaml']!(leaky),
          TEETH_RUNS,
        ).failed,
      ).toBe(true);
    });
  }
});
