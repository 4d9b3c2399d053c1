// Every route that decides goes through one decision service (server/decide/decision-service.ts): the
// same request decided through /v1/authorize, the batch route and AuthZEN's /evaluation is the same
// decision, logged with the same fields, and passes the service's seam (its recorders) once; and the
// logged latency is measured the same way on every route, from before the principal is resolved or the
// entities completed to the decision (a store that takes time shows in the latency of every route).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import type { LogBatch } from '../../server/decision-log/batch.js';
import type { DecisionRecorder } from '../../server/decide/recorders.js';
import { depth } from '../support/depth.js';
import { requestArb } from '../support/fleet-arbitraries.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** What the seam saw: single decisions with their requests, and batches as rows. */
const seen = { decided: [] as { request: AuthorizeRequest; decision: Decision; latencyUs: number }[], rows: 0 };
const seam: DecisionRecorder = {
  decided: (request, decision, latencyUs) => seen.decided.push({ request, decision, latencyUs }),
  decidedRows: (rows: LogBatch) => {
    seen.rows += rows.rows;
  },
};

/** The clock the service times decisions with: it moves only when the test says (a slow store, below). */
let nowMs = 0;

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ decisionThreads: 0, provisionRateLimit: 1000 }, undefined, {
    recorders: [seam],
    decisionTimer: () => nowMs,
  });
});
afterAll(() => s.stop());

const LOGGED =
  'principal_type, principal_id, action, resource_type, resource_id, outcome, matched, policy_revision, errors';
async function logged(id: string): Promise<Record<string, unknown>> {
  await s.decisionLog.drain();
  return s.db.prepare(`SELECT ${LOGGED} FROM decisions WHERE id = ?`).get(id) as Record<string, unknown>;
}
async function latencyOf(id: string): Promise<number> {
  await s.decisionLog.drain();
  return (s.db.prepare('SELECT latency_us FROM decisions WHERE id = ?').get(id) as { latency_us: number }).latency_us;
}

const asAuthzen = (r: AuthorizeRequest) => ({
  subject: { type: r.principal.type, id: r.principal.id, properties: r.principal.attributes ?? {} },
  action: { name: r.action },
  resource: { type: r.resource.type, id: r.resource.id, properties: r.resource.attributes ?? {} },
  context: r.context ?? {},
});

describe('one decision service for every route', () => {
  it('decides a request the same through /v1/authorize, the batch route and AuthZEN /evaluation, and logs the same fields', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb(), async (raw) => {
        const r = { ...raw, principal: { ...raw.principal, attributes: raw.principal.attributes ?? {} } };
        const decidedBefore = seen.decided.length;
        const rowsBefore = seen.rows;
        const single = await s.post('/v1/authorize', r);
        const batch = await s.post('/v1/authorize/batch', { requests: [r] });
        const authzen = await s.post('/access/v1/evaluation', asAuthzen(r));
        expect([single.status, batch.status, authzen.status]).toEqual([200, 200, 200]);
        const fromBatch = batch.body.results[0];
        const { decisionId: _a, ...singleRest } = single.body;
        const { decisionId: _b, ...batchRest } = fromBatch;
        expect(batchRest).toEqual(singleRest);
        const az = authzen.body;
        expect(az.decision).toBe(single.body.allowed);
        expect(az.context).toEqual({
          decision_id: az.context.decision_id,
          policy_revision: single.body.policyRevision,
          matched: single.body.matched,
          ...(single.body.reason ? { reason: single.body.reason } : {}),
          ...(single.body.errors ? { errors: single.body.errors } : {}),
        });
        // The same row in the decision log, whichever route decided it.
        const rows = await Promise.all(
          [single.body.decisionId, fromBatch.decisionId, az.context.decision_id].map(logged),
        );
        expect(rows[1]).toEqual(rows[0]);
        expect(rows[2]).toEqual(rows[0]);
        // Each decision passed the seam once: the single and AuthZEN ones with the request as decided.
        expect(seen.rows - rowsBefore).toBe(1);
        const through = seen.decided.slice(decidedBefore);
        expect(through.map((d) => d.decision.decisionId)).toEqual([single.body.decisionId, az.context.decision_id]);
        for (const d of through) {
          expect({
            principal: d.request.principal.id,
            action: d.request.action,
            resource: d.request.resource.id,
          }).toEqual({
            principal: r.principal.id,
            action: r.action,
            resource: r.resource.id,
          });
        }
      }),
      { numRuns: depth(25, 250) },
    );
  });

  it('logs as latency the time from before the principal is resolved (or the entities completed) to the decision, on every route', async () => {
    // A provisioned device and its key, and an AuthZEN subject the store completes.
    const created = await s.post(
      '/v1/admin/provisioning-keys',
      { fleet: 'f-seam', organization: 'o-seam', expiresAt: '2099-01-01T00:00:00Z' },
      admin,
    );
    const device = await s.post('/v1/provision', { provisioningKey: created.body.key, deviceId: 'seam-1' });
    expect(device.status).toBe(201);
    const deviceKey = device.body.deviceKey as string;
    const release = { type: 'release', id: 'r-seam', attributes: { fleet: 'f-seam', organization: 'o-seam' } };

    // Every store lookup a decision makes takes 1 ms by the service's clock; deciding takes none.
    const { keys, entities } = s;
    const resolve = keys.resolve.bind(keys);
    const verify = keys.verify.bind(keys);
    const attributes = entities.attributes.bind(entities);
    const slow =
      <A extends unknown[], R>(f: (...a: A) => R) =>
      (...a: A) => {
        nowMs += 1;
        return f(...a);
      };
    keys.resolve = slow(resolve);
    entities.attributes = slow(attributes);
    try {
      const request = { principal: { credential: deviceKey }, action: 'read', resource: release };
      const single = await s.post('/v1/authorize', request);
      expect(await latencyOf(single.body.decisionId)).toBe(1000);

      // A batch is timed as a whole, each decision logged with its share: four lookups, four decisions.
      const batch = await s.post('/v1/authorize/batch', { requests: [request, request, request, request] });
      for (const d of batch.body.results) expect(await latencyOf(d.decisionId)).toBe(1000);

      // AuthZEN completes the subject and the resource from the store: two lookups.
      const evaluation = await s.post('/access/v1/evaluation', {
        subject: { type: 'device', id: 'seam-1' },
        action: { name: 'read' },
        resource: { type: 'release', id: 'r-seam', properties: release.attributes },
      });
      expect(evaluation.body.decision).toBe(single.body.allowed);
      expect(await latencyOf(evaluation.body.context.decision_id)).toBe(2000);

      // Provisioning with an invalid key: the key's check is the one lookup (a key's resolution checks it too).
      keys.resolve = resolve;
      keys.verify = slow(verify);
      const invalid = await s.post('/v1/provision', { provisioningKey: 'not-a-key', deviceId: 'seam-2' });
      expect(invalid.status).toBe(403);
      expect(await latencyOf(invalid.body.decisionId)).toBe(1000);
    } finally {
      keys.resolve = resolve;
      keys.verify = verify;
      entities.attributes = attributes;
    }
  });
});
