// How AuthZEN resolves entities, over HTTP: a stored entity is complete (the request cannot add to it), and
// the key store's devices, provisioning keys and users are the same entities, with their fleet and
// organization authoritative.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, RESOURCE_TYPES } from '../support/fleet-arbitraries.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const FUTURE = '2099-01-01T00:00:00Z';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ provisionRateLimit: 1000 });
});
afterAll(() => server.stop());

const evaluate = async (body: unknown): Promise<boolean> => {
  const res = await server.post('/access/v1/evaluation', body);
  expect(res.status).toBe(200);
  return res.body.decision;
};

describe('a stored entity is complete', () => {
  it('a user imported with memberOf only cannot be made an administrator by the request', async () => {
    expect((await server.post('/v1/admin/users', { users: [{ id: 'u-1', memberOf: ['o-1'] }] }, admin)).status).toBe(
      200,
    );
    const fleet = { type: 'fleet', id: 'f-1', properties: { organization: 'o-1' } };
    const asked = {
      subject: { type: 'user', id: 'u-1', properties: { adminOf: ['o-1'] } },
      action: { name: 'update' },
    };
    expect(await evaluate({ ...asked, resource: fleet })).toBe(false);
    // The same user through its token on /v1/authorize: the same answer.
    const token = await server.post('/v1/admin/users/u-1/tokens', {}, admin);
    const authorized = await server.post('/v1/authorize', {
      principal: { credential: token.body.token },
      action: 'update',
      resource: { type: 'fleet', id: 'f-1', attributes: { organization: 'o-1' } },
    });
    expect(authorized.body.allowed).toBe(false);
    // What the store says is used: the user reads its organization as a member.
    expect(await evaluate({ ...asked, action: { name: 'read' }, resource: { type: 'organization', id: 'o-1' } })).toBe(
      true,
    );
  });

  it('an optional attribute the store does not hold stays absent (a support grant cannot be claimed)', async () => {
    const stored = { type: 'fleet', id: 'f-stored', attributes: { organization: 'o-1' } };
    expect((await server.post('/v1/admin/entities', { entities: [stored] }, admin)).status).toBe(200);
    const ask = (id: string) =>
      evaluate({
        subject: { type: 'support_agent', id: 'sa-1' },
        action: { name: 'read' },
        resource: { type: 'fleet', id, properties: { organization: 'o-1', supportAccessUntil: FUTURE } },
      });
    expect(await ask('f-stored')).toBe(false);
    // An entity the store does not know is described by the request.
    expect(await ask('f-unknown')).toBe(true);
  });
});

describe('the key store is the entity store', () => {
  it('a provisioned device is never allowed anything on another fleet, whatever properties a caller sends (property)', async () => {
    const fleets = ['fa', 'fb', 'fc'];
    const devices: { id: string; fleet: string; organization: string }[] = [];
    for (const [i, fleet] of fleets.entries()) {
      const organization = `org-${i % 2}`;
      const created = await server.post(
        '/v1/admin/provisioning-keys',
        { fleet, organization, expiresAt: FUTURE },
        admin,
      );
      for (let n = 0; n < 2; n++) {
        const res = await server.post('/v1/provision', {
          provisioningKey: created.body.key,
          deviceId: `dev-${fleet}-${n}`,
        });
        expect(res.status).toBe(201);
        devices.push(res.body.device);
      }
    }
    const fleetOf = new Map(devices.map((d) => [d.id, d.fleet]));
    const properties = fc.option(
      fc.record(
        {
          fleet: fc.constantFrom(...fleets, 'fz'),
          organization: fc.constantFrom('org-0', 'org-1'),
          adminOf: fc.constant(['org-0', 'org-1']),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    );
    const item = fc.record({
      type: fc.constantFrom(...RESOURCE_TYPES),
      action: fc.constantFrom(...ACTIONS),
      id: fc.constantFrom(...devices.map((d) => d.id), ...fleets, 'x'),
      fleet: fc.constantFrom(...fleets),
      organization: fc.constantFrom('org-0', 'org-1'),
    });
    const resourceOf = (it: { type: string; id: string; fleet: string; organization: string }) => {
      if (it.type === 'organization') return { type: it.type, id: it.organization };
      if (it.type === 'fleet') return { type: it.type, id: it.fleet, properties: { organization: it.organization } };
      return {
        type: it.type,
        id: it.id,
        properties: { fleet: it.fleet, organization: it.organization, device: it.id },
      };
    };
    /** The resource's fleet as the PDP knows it: a provisioned device's own, else what the request says. */
    const fleetOfResource = (it: { type: string; id: string; fleet: string }) =>
      it.type === 'organization'
        ? undefined
        : it.type === 'device' && fleetOf.has(it.id)
          ? fleetOf.get(it.id)
          : it.fleet;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...devices),
        properties,
        fc.array(item, { minLength: 1, maxLength: 8 }),
        async (device, props, items) => {
          const subject = { type: 'device', id: device.id, ...(props ? { properties: props } : {}) };
          const requests = items.map((it) => ({ action: { name: it.action }, resource: resourceOf(it) }));
          const single = await Promise.all(requests.map((r) => evaluate({ subject, ...r })));
          const batch = await server.post('/access/v1/evaluations', { subject, evaluations: requests });
          expect(batch.status).toBe(200);
          items.forEach((it, i) => {
            if (fleetOfResource(it) === device.fleet) return;
            expect(single[i]).toBe(false);
            expect(batch.body.evaluations[i].decision).toBe(false);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('resolves provisioned devices and provisioning keys with the key store’s attributes', async () => {
    const created = await server.post(
      '/v1/admin/provisioning-keys',
      { fleet: 'f-home', organization: 'o-home', expiresAt: FUTURE },
      admin,
    );
    const res = await server.post('/v1/provision', { provisioningKey: created.body.key, deviceId: 'dev-home' });
    expect(res.status).toBe(201);
    const release = (fleet: string) => ({
      type: 'release',
      id: `r-${fleet}`,
      properties: { fleet, organization: 'o-home' },
    });
    const device = (properties?: Record<string, unknown>) => ({
      type: 'device',
      id: 'dev-home',
      ...(properties ? { properties } : {}),
    });
    // No properties needed: the store knows the device.
    expect(await evaluate({ subject: device(), action: { name: 'read' }, resource: release('f-home') })).toBe(true);
    expect(
      await evaluate({
        subject: device({ fleet: 'f-other', organization: 'o-home' }),
        action: { name: 'read' },
        resource: release('f-other'),
      }),
    ).toBe(false);
    // A provisioning key as a subject: its fleet, expiry and count come from the key store.
    const key = (properties?: Record<string, unknown>) => ({
      type: 'provisioning_key',
      id: created.body.id,
      ...(properties ? { properties } : {}),
    });
    const fleet = (id: string) => ({ type: 'fleet', id, properties: { organization: 'o-home' } });
    const register = { name: 'register' };
    expect(await evaluate({ subject: key(), action: register, resource: fleet('f-home') })).toBe(true);
    expect(
      await evaluate({
        subject: key({ fleet: 'f-other', organization: 'o-home', expiresAt: FUTURE, registrations: 0, revoked: false }),
        action: register,
        resource: fleet('f-other'),
      }),
    ).toBe(false);
    // Revoked in the key store: revoked for AuthZEN too, at once.
    expect((await server.post(`/v1/admin/keys/${created.body.id}/revoke`, {}, admin)).status).toBe(200);
    expect(await evaluate({ subject: key(), action: register, resource: fleet('f-home') })).toBe(false);
    // A deleted device is unknown again: the request describes it.
    const deleted = await fetch(`${server.url}/v1/admin/devices/dev-home`, { method: 'DELETE', headers: admin });
    expect(deleted.status).toBe(204);
    expect(
      await evaluate({
        subject: device({ fleet: 'f-other', organization: 'o-home' }),
        action: { name: 'read' },
        resource: release('f-other'),
      }),
    ).toBe(true);
  });

  it('a device in the key store wins over an entity of the same id', async () => {
    const created = await server.post(
      '/v1/admin/provisioning-keys',
      { fleet: 'f-real', organization: 'o-1', expiresAt: FUTURE },
      admin,
    );
    expect(
      (await server.post('/v1/provision', { provisioningKey: created.body.key, deviceId: 'dev-twin' })).status,
    ).toBe(201);
    const twin = { type: 'device', id: 'dev-twin', attributes: { fleet: 'f-fake', organization: 'o-1' } };
    expect((await server.post('/v1/admin/entities', { entities: [twin] }, admin)).status).toBe(200);
    const read = (fleet: string) =>
      evaluate({
        subject: { type: 'device', id: 'dev-twin' },
        action: { name: 'read' },
        resource: { type: 'release', id: 'r', properties: { fleet, organization: 'o-1' } },
      });
    expect(await read('f-fake')).toBe(false);
    expect(await read('f-real')).toBe(true);
  });
});
