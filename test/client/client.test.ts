// The client's contract, run against both modes: decisions as the engine makes them, one per caller in
// order, malformed requests denied alone, plans and rules as the sidecar computes them.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJECTED, type AuthorizeRequest } from '../../client/client.js';
import { loadEngine, planQuery, type Engine } from '../../engine/index.js';
import { NOW, requestArb } from '../support/fleet-arbitraries.js';
import { MODES, type ModeContext } from '../support/client-modes.js';
import { POLICIES_DIR } from '../support/policies.js';

const at = (r: AuthorizeRequest): AuthorizeRequest => ({
  ...r,
  context: { time: new Date(NOW).toISOString(), ...r.context },
});
const device = (id: string, fleet: string) => ({
  type: 'device',
  id,
  attributes: { fleet, organization: 'o-1' },
});
const release = (id: string, fleet: string) => ({ type: 'release', id, attributes: { fleet, organization: 'o-1' } });
const readRelease = (fleet: string): AuthorizeRequest => ({
  principal: device('d-1', 'f-1'),
  action: 'read',
  resource: release(`r-${fleet}`, fleet),
});

let engine: Engine;
beforeAll(() => {
  engine = loadEngine(POLICIES_DIR, { clock: () => NOW });
});

/** What the engine decides, as the client returns it (the id differs). */
const expected = (r: AuthorizeRequest) => {
  const d = engine.authorize(r as Parameters<Engine['authorize']>[0]);
  return { decision: d.decision, allowed: d.allowed, matched: d.matched, policyRevision: d.policyRevision };
};
const comparable = (d: { decision: string; allowed: boolean; matched: unknown; policyRevision: string }) => ({
  decision: d.decision,
  allowed: d.allowed,
  matched: d.matched,
  policyRevision: d.policyRevision,
});

for (const mode of MODES) {
  describe(`the client, ${mode.name} mode`, () => {
    let ctx: ModeContext;
    beforeAll(async () => {
      ctx = await mode.start(POLICIES_DIR);
    });
    afterAll(() => ctx?.stop());

    it('decides every request as the engine does, alone or among many', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(requestArb().map(at), { minLength: 1, maxLength: 30 }), async (requests) => {
          const [alone, many, allowed] = await Promise.all([
            ctx.client.authorize(requests[0]!),
            ctx.client.authorizeMany(requests),
            Promise.all(requests.map((r) => ctx.client.isAllowed(r))),
          ]);
          expect(comparable(alone)).toEqual(expected(requests[0]!));
          expect(many.map(comparable)).toEqual(requests.map(expected));
          expect(allowed).toEqual(requests.map((r) => expected(r).allowed));
        }),
        { numRuns: 12 },
      );
    });

    it('gives each of many concurrent callers its own decision', async () => {
      const fleets = Array.from({ length: 250 }, (_, i) => (i % 3 === 0 ? 'f-1' : `f-${i}`));
      const decisions = await Promise.all(fleets.map((f) => ctx.client.authorize(readRelease(f))));
      expect(decisions.map((d) => d.allowed)).toEqual(fleets.map((f) => f === 'f-1'));
      expect(new Set(decisions.map((d) => d.decisionId)).size).toBe(250);
    });

    it('answers isAllowed with true only for an allow', async () => {
      const [own, other] = await Promise.all([
        ctx.client.isAllowed(readRelease('f-1')),
        ctx.client.isAllowed(readRelease('f-2')),
      ]);
      expect([own, other]).toEqual([true, false]);
      const malformed = { ...readRelease('f-1'), principal: { type: 'device' } } as unknown as AuthorizeRequest;
      const [bad, unknown, credential] = await Promise.all([
        ctx.client.isAllowed(malformed),
        ctx.client.isAllowed({ ...readRelease('f-1'), action: 'fly' }),
        ctx.client.isAllowed({ ...readRelease('f-1'), principal: { credential: 'fg.no.key' } }),
      ]);
      expect([bad, unknown, credential]).toEqual([false, false, false]);
    });

    it('denies a malformed request, or one naming an unknown action, alone: the calls beside it are decided', async () => {
      const bad = { ...readRelease('f-1'), principal: { type: 'device' } } as unknown as AuthorizeRequest;
      const unknown = { ...readRelease('f-1'), action: 'fly' };
      const [before, malformed, unknownAction, after] = await Promise.all([
        ctx.client.authorize(readRelease('f-1')),
        ctx.client.authorize(bad),
        ctx.client.authorize(unknown),
        ctx.client.authorize(readRelease('f-1')),
      ]);
      expect([before.allowed, after.allowed]).toEqual([true, true]);
      expect(malformed).toMatchObject({ decision: 'deny', allowed: false, errors: [{ code: 'invalid_request' }] });
      expect(malformed.reason).toMatch(new RegExp(`^${REJECTED}: principal`));
      expect(unknownAction).toMatchObject({ allowed: false, errors: [{ code: 'unknown_action' }] });
      expect(unknownAction.reason).toBe(`${REJECTED}: unknown action \`fly\``);
    });

    it('plans a list query as the engine does, and rejects a plan for an unknown type', async () => {
      const request = {
        principal: device('d-1', 'f-1'),
        action: 'read',
        resourceType: 'release',
        columns: { fleet: 'fleet_id' },
      };
      const plan = await ctx.client.plan(request);
      const { condition, sql, kind } = planQuery(engine.policySet, request, NOW);
      expect(plan).toMatchObject({ kind, condition, sql, policyRevision: engine.revision });
      expect(plan.sql).toEqual({ where: '"fleet_id" = ?', params: ['f-1'] });
      expect(plan.error).toBeUndefined();

      const refused = await ctx.client.plan({ ...request, resourceType: 'spaceship' });
      expect(refused).toMatchObject({ kind: 'always_denied', sql: { where: '1 = 0', params: [] } });
      expect(refused.reason).toBe(`${REJECTED}: unknown resource type \`spaceship\``);
    });

    it("returns a principal's CASL rules", async () => {
      const rules = await ctx.client.rules({ principal: device('d-1', 'f-1') });
      expect(rules.policyRevision).toBe(engine.revision);
      expect(JSON.stringify(rules.rules)).toContain('f-1');
      expect(rules.error).toBeUndefined();
    });
  });
}
