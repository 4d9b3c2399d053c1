// Check and plan parity: on a real SQLite table of random resources, the rows a plan's SQL returns are
// exactly the rows the engine allows, for random principals of every type, on the shipped policies and
// on random policies. A partial plan must return a subset.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorize, type AuthorizeRequest, type Entity, type PolicySet } from '../../engine/index.js';
import { planQuery } from '../../engine/plan/plan-query.js';
import { ACTIONS, contextArb, NOW, principalArb, resourceArb, RESOURCE_TYPES } from '../support/fleet-arbitraries.js';
import { policyArb, randomRequestArb } from '../support/random-policies.js';
import { shippedPolicies } from '../support/policies.js';
import { resourceTable } from '../support/sql-tables.js';
import { depth } from '../support/depth.js';

function checkParity(
  set: PolicySet,
  principal: Entity,
  action: string,
  type: string,
  context: Record<string, unknown>,
  rows: Entity[],
) {
  const table = resourceTable(set, type);
  table.insert(rows);
  const plan = planQuery(set, { principal, action, resourceType: type, context }, NOW);
  expect(plan.sql.where).not.toMatch(/'[^']*'/); // values are parameters, never text
  const returned = table.select(plan.sql.where, plan.sql.params);
  const allowed = rows
    .filter(
      (resource) => authorize(set, { principal, action, resource, context } as AuthorizeRequest, NOW, 'x').allowed,
    )
    .map((r) => r.id)
    .sort();
  if (plan.partial) expect(allowed).toEqual(expect.arrayContaining(returned));
  else expect(returned).toEqual(allowed);
  table.db.close();
  return plan;
}

describe('plans return exactly the rows the engine allows', () => {
  const shipped = shippedPolicies();

  it('on the shipped policies, for every principal type, action and resource type', () => {
    const kinds = new Set<string>();
    fc.assert(
      fc.property(
        principalArb.chain((p) =>
          fc.record({
            principal: fc.constant(p),
            action: fc.constantFrom(...ACTIONS),
            type: fc.constantFrom(...RESOURCE_TYPES),
            context: contextArb.map((c) => ({ ip: '10.1.2.3', ...c })),
            rows: fc.uniqueArray(resourceArb(p), { selector: (r) => r.id, maxLength: 12 }),
          }),
        ),
        ({ principal, action, type, context, rows }) => {
          const typed = rows.filter((r) => r.type === type);
          const plan = checkParity(shipped, principal, action, type, context, typed);
          expect(plan.partial).toBeUndefined();
          kinds.add(plan.kind);
        },
      ),
      { numRuns: depth(1500, 15_000) },
    );
    expect([...kinds].sort()).toEqual(['always_allowed', 'always_denied', 'conditional']);
  });

  it('on random policies', () => {
    fc.assert(
      fc.property(
        policyArb,
        randomRequestArb,
        fc.uniqueArray(
          randomRequestArb.map((r) => r.resource),
          { selector: (r) => r.id + r.type, maxLength: 10 },
        ),
        (set, req, resources) => {
          const rows = resources
            .filter((r) => r.type === req.resource.type)
            .map((r, i) => ({ ...r, id: `${r.id}-${i}` }));
          checkParity(set, req.principal, req.action, req.resource.type, req.context!, rows);
        },
      ),
      { numRuns: depth(80, 2000) },
    );
  });
});

describe('plan shapes', () => {
  const shipped = shippedPolicies();
  const device = { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } };

  it('a device key may read exactly its own fleet content, as parameters', () => {
    const plan = planQuery(shipped, { principal: device, action: 'read', resourceType: 'release' }, NOW);
    expect(plan).toMatchObject({
      kind: 'conditional',
      condition: { operator: 'eq', field: 'fleet', value: 'f-1' },
      sql: { where: '"fleet" = ?', params: ['f-1'] },
    });
  });

  it('honours deny rules and maps columns', () => {
    const admin = { type: 'user', id: 'u-1', attributes: { adminOf: ['o-1'], developerOf: ['f-9'] } };
    const plan = planQuery(shipped, { principal: admin, action: 'create', resourceType: 'image' }, NOW);
    expect(plan).toMatchObject({ kind: 'always_denied', sql: { where: '1 = 0', params: [] } });
    const devices = planQuery(
      shipped,
      {
        principal: admin,
        action: 'read',
        resourceType: 'device',
        columns: { organization: 'org_id', fleet: 'fleet_id' },
      },
      NOW,
    );
    expect(devices.sql).toEqual({ where: '("fleet_id" IN (?) OR "org_id" IN (?))', params: ['f-9', 'o-1'] });
  });

  it('says partial, with the reason, when it cannot be exact', () => {
    const key = {
      type: 'provisioning_key',
      id: 'pk',
      attributes: {
        fleet: 'f-1',
        organization: 'o-1',
        expiresAt: '2099-01-01T00:00:00Z',
        allowedCidrs: ['10.0.0.0/8'],
        registrations: 0,
        revoked: false,
      },
    };
    const plan = planQuery(shipped, { principal: key, action: 'register', resourceType: 'fleet' }, NOW);
    expect(plan).toMatchObject({ kind: 'always_denied', partial: true });
    expect(plan.reason).toContain('context.ip is missing');
  });
});
