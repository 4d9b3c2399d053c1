// Query plans over the entity store (AuthZEN resource search): the SQL over stored JSON attributes selects
// exactly the stored resources the engine allows, times, booleans and lists included.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorize, planQuery } from '../../engine/index.js';
import { openDatabase } from '../../server/store/database.js';
import { entityColumn, EntityStore } from '../../server/store/entity-store.js';
import { ACTIONS, contextArb, NOW, principalArb, resourceArb, RESOURCE_TYPES } from '../support/fleet-arbitraries.js';
import { shippedPolicies } from '../support/policies.js';
import { policyArb, randomRequestArb } from '../support/random-policies.js';

describe('plans over the entity store', () => {
  it('agree with the engine on the shipped policies (times included)', () => {
    const set = shippedPolicies();
    fc.assert(
      fc.property(
        principalArb.chain((p) =>
          fc.record({
            principal: fc.constant(p),
            action: fc.constantFrom(...ACTIONS),
            type: fc.constantFrom(...RESOURCE_TYPES),
            context: contextArb.map((c) => ({ ip: '10.1.2.3', ...c })),
            rows: fc.uniqueArray(resourceArb(p), { selector: (r) => `${r.type}/${r.id}`, maxLength: 12 }),
          }),
        ),
        ({ principal, action, type, context, rows }) => {
          const db = openDatabase(':memory:');
          const store = new EntityStore(db, () => NOW);
          store.upsert(rows.map((r) => ({ type: r.type, id: r.id, attributes: r.attributes ?? {} })));
          const plan = planQuery(set, { principal, action, resourceType: type, context, columnSql: entityColumn }, NOW);
          expect(plan.partial).toBeUndefined();
          const selected = store.select(type, plan.sql);
          const allowed = rows
            .filter(
              (r) => r.type === type && authorize(set, { principal, action, resource: r, context }, NOW, 'x').allowed,
            )
            .map((r) => r.id)
            .sort();
          expect(selected).toEqual(allowed);
          db.close();
        },
      ),
      { numRuns: 800 },
    );
  });

  it('agree with the engine on random policies (lists and booleans included)', () => {
    fc.assert(
      fc.property(
        policyArb,
        randomRequestArb,
        fc.array(
          randomRequestArb.map((r) => r.resource),
          { maxLength: 8 },
        ),
        (set, req, resources) => {
          const rows = resources.map((r, i) => ({ ...r, id: `${r.id}-${i}` }));
          const db = openDatabase(':memory:');
          const store = new EntityStore(db, () => NOW);
          store.upsert(rows.map((r) => ({ type: r.type, id: r.id, attributes: r.attributes ?? {} })));
          const type = req.resource.type;
          const plan = planQuery(
            set,
            {
              principal: req.principal,
              action: req.action,
              resourceType: type,
              context: req.context!,
              columnSql: entityColumn,
            },
            NOW,
          );
          const selected = store.select(type, plan.sql);
          const allowed = rows
            .filter((r) => r.type === type && authorize(set, { ...req, resource: r }, NOW, 'x').allowed)
            .map((r) => r.id)
            .sort();
          if (plan.partial) expect(allowed).toEqual(expect.arrayContaining(selected));
          else expect(selected).toEqual(allowed);
          db.close();
        },
      ),
      { numRuns: 400 },
    );
  });
});
