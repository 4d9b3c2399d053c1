// /v1/plan and /v1/rules over HTTP: the plan's SQL selects exactly what /v1/authorize allows; the packed
// CASL rules build an ability that agrees with the engine; `fleetguard plan` prints the same plan.
import { buildMongoQueryMatcher, createMongoAbility, type RawRuleOf } from '@casl/ability';
import { unpackRules } from '@casl/ability/extra';
import { $and, $nor, $or, and, nor, or } from '@ucast/mongo2js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caslSubject, type Entity, type FleetAbility } from '../../engine/index.js';
import { fleetguard } from '../support/cli.js';
import { ACTIONS, contextArb, principalArb, resourceArb, RESOURCE_TYPES } from '../support/fleet-arbitraries.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { resourceTable } from '../support/sql-tables.js';
import { depth } from '../support/depth.js';

let server: TestServer;
beforeAll(async () => {
  // Decision threads are not the subject: batches are decided on the request thread.
  server = await startTestServer({ decisionThreads: 0 });
});
afterAll(() => server.stop());

describe('POST /v1/plan', () => {
  it('selects exactly the rows /v1/authorize allows (random principals of every type)', async () => {
    const set = server.policies.engine!.policySet;
    await fc.assert(
      fc.asyncProperty(
        principalArb.chain((p) =>
          fc.record({
            principal: fc.constant(p),
            action: fc.constantFrom(...ACTIONS),
            type: fc.constantFrom(...RESOURCE_TYPES),
            context: contextArb.map((c) => ({ ip: '10.1.2.3', ...c })),
            rows: fc.uniqueArray(resourceArb(p), { selector: (r) => r.id, maxLength: 8 }),
          }),
        ),
        async ({ principal, action, type, context, rows }) => {
          const typed = rows.filter((r) => r.type === type);
          const { status, body: plan } = await server.post('/v1/plan', {
            principal,
            action,
            resourceType: type,
            context,
          });
          expect(status).toBe(200);
          const table = resourceTable(set, type);
          table.insert(typed);
          const returned = table.select(plan.sql.where, plan.sql.params);
          table.db.close();
          const decisions =
            typed.length === 0
              ? { results: [] }
              : (
                  await server.post('/v1/authorize/batch', {
                    requests: typed.map((resource) => ({ principal, action, resource, context })),
                  })
                ).body;
          const allowed = typed
            .filter((_, i) => decisions.results[i].allowed)
            .map((r) => r.id)
            .sort();
          expect(returned).toEqual(allowed);
        },
      ),
      { numRuns: depth(30, 750) },
    );
  });

  it('rejects unknown types and actions, and always gives a valid clause', async () => {
    const device = { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
    expect(
      (await server.post('/v1/plan', { principal: device, action: 'read', resourceType: 'castle' })).body.error,
    ).toMatchObject({ code: 'unknown_resource_type', path: 'resourceType' });
    expect(
      (await server.post('/v1/plan', { principal: device, action: 'fly', resourceType: 'device' })).body.error,
    ).toMatchObject({ code: 'unknown_action' });
    expect(
      (await server.post('/v1/plan', { principal: device, action: 'delete', resourceType: 'device' })).body,
    ).toMatchObject({ kind: 'always_denied', condition: null, sql: { where: '1 = 0', params: [] } });
  });

  it('fleetguard plan prints the same plan', async () => {
    const req = {
      principal: { type: 'user', id: 'u-1', attributes: { adminOf: ['o-1'], developerOf: ['f-2'] } },
      action: 'read',
      resourceType: 'device',
      columns: { organization: 'org_id' },
    };
    const cli = fleetguard(['plan', '--policies', 'policies', '--request', '-'], { input: JSON.stringify(req) });
    expect(cli.status).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual((await server.post('/v1/plan', req)).body);
  });
});

describe('POST /v1/rules', () => {
  const conditionsMatcher = buildMongoQueryMatcher({ $and, $or, $nor }, { and, or, nor });

  it('gives rules from which a front end builds an ability that agrees with the engine', async () => {
    const set = server.policies.engine!.policySet;
    await fc.assert(
      fc.asyncProperty(
        principalArb.chain((p) =>
          fc.record({
            principal: fc.constant(p),
            context: contextArb.map((c) => ({ ip: '10.1.2.3', ...c })),
            resources: fc.array(resourceArb(p), { maxLength: 6 }),
            action: fc.constantFrom(...ACTIONS),
          }),
        ),
        async ({ principal, context, resources, action }) => {
          const { status, body } = await server.post('/v1/rules', { principal, context });
          expect(status).toBe(200);
          expect(body.partial).toBeUndefined();
          const ability = createMongoAbility(unpackRules(body.rules) as RawRuleOf<FleetAbility>[], {
            conditionsMatcher,
          });
          if (resources.length === 0) return;
          const decisions = (
            await server.post('/v1/authorize/batch', {
              requests: resources.map((resource: Entity) => ({ principal, action, resource, context })),
            })
          ).body.results;
          resources.forEach((resource: Entity, i: number) => {
            expect(ability.can(action, caslSubject(set, resource))).toBe(decisions[i].allowed);
          });
        },
      ),
      { numRuns: depth(30, 750) },
    );
  });
});
