// The example service end to end, through its HTTP API, in both modes: a device key of one fleet gets 403
// on every single-object route of another fleet and never sees another fleet's rows in any list (and,
// within its own fleet, gets exactly what the engine decides); every route is guarded.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type Engine } from '../../engine/index.js';
import { buildDeviceApi, type DeviceApi } from '../../examples/device-api/app.js';
import {
  entityOf,
  loadWorld,
  openDb,
  type Db,
  type ResourceType,
  type Row,
  type World,
} from '../../examples/device-api/db.js';
import { MODES, type ModeContext } from '../support/client-modes.js';
import { POLICIES_DIR, REPO_DIR } from '../support/policies.js';

/** A random world: 2–4 fleets in one or two organizations, each with devices, releases and variables. */
const worldArb: fc.Arbitrary<World> = fc
  .array(
    fc.record({
      organization: fc.constantFrom('o-0', 'o-1'),
      devices: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }),
      releases: fc.integer({ min: 0, max: 2 }),
      fleetVariables: fc.integer({ min: 0, max: 2 }),
    }),
    { minLength: 2, maxLength: 4 },
  )
  .map((fleets) => {
    const world: World = { fleets: [], devices: [], releases: [], fleetVariables: [], deviceVariables: [] };
    fleets.forEach((f, i) => {
      const fleet = `f-${i}`;
      world.fleets.push({ id: fleet, organization: f.organization });
      f.devices.forEach((variables, j) => {
        const device = `d-${i}-${j}`;
        world.devices.push({ id: device, fleet, key: `key-${device}` });
        for (let k = 0; k < variables; k++) world.deviceVariables.push({ id: `dv-${i}-${j}-${k}`, device });
      });
      for (let k = 0; k < f.releases; k++) world.releases.push({ id: `rel-${i}-${k}`, fleet });
      for (let k = 0; k < f.fleetVariables; k++) world.fleetVariables.push({ id: `fv-${i}-${k}`, fleet });
    });
    return world;
  });

interface SingleRoute {
  method: string;
  path: (id: string) => string;
  type: ResourceType;
  action: string;
  /** What Fleetguard is asked about for the row (a new release for a fleet). */
  resource?: (row: Row) => { type: string; id: string; attributes: Record<string, string> };
  body?: unknown;
}
const SINGLE: SingleRoute[] = [
  { method: 'GET', path: (id) => `/fleets/${id}`, type: 'fleet', action: 'read' },
  {
    method: 'POST',
    path: (id) => `/fleets/${id}/releases`,
    type: 'fleet',
    action: 'create',
    resource: (f) => ({ type: 'release', id: 'new', attributes: { fleet: f.id!, organization: f.organization! } }),
    body: { version: '9.9.9' },
  },
  { method: 'GET', path: (id) => `/devices/${id}`, type: 'device', action: 'read' },
  { method: 'PATCH', path: (id) => `/devices/${id}`, type: 'device', action: 'update', body: { name: 'renamed' } },
  { method: 'DELETE', path: (id) => `/devices/${id}`, type: 'device', action: 'delete' },
  { method: 'GET', path: (id) => `/releases/${id}`, type: 'release', action: 'read' },
  { method: 'GET', path: (id) => `/fleet-variables/${id}`, type: 'fleet_variable', action: 'read' },
  {
    method: 'PUT',
    path: (id) => `/fleet-variables/${id}`,
    type: 'fleet_variable',
    action: 'update',
    body: { value: 'x' },
  },
  { method: 'GET', path: (id) => `/device-variables/${id}`, type: 'device_variable', action: 'read' },
];
const LISTS: [string, ResourceType][] = [
  ['/fleets', 'fleet'],
  ['/devices', 'device'],
  ['/releases', 'release'],
  ['/fleet-variables', 'fleet_variable'],
  ['/device-variables', 'device_variable'],
];

/** Every row of a type in the world, as the service's table holds it. */
function rowsOf(world: World, type: ResourceType): Row[] {
  const org = new Map(world.fleets.map((f) => [f.id, f.organization]));
  const fleetOf = new Map(world.devices.map((d) => [d.id, d.fleet]));
  switch (type) {
    case 'fleet':
      return world.fleets.map((f) => ({ id: f.id, organization: f.organization }));
    case 'device':
      return world.devices.map((d) => ({ id: d.id, fleet: d.fleet, organization: org.get(d.fleet)! }));
    case 'release':
      return world.releases.map((r) => ({ id: r.id, fleet: r.fleet, organization: org.get(r.fleet)! }));
    case 'fleet_variable':
      return world.fleetVariables.map((v) => ({ id: v.id, fleet: v.fleet, organization: org.get(v.fleet)! }));
    case 'device_variable':
      return world.deviceVariables.map((v) => {
        const fleet = fleetOf.get(v.device)!;
        return { id: v.id, device: v.device, fleet, organization: org.get(fleet)! };
      });
  }
}
const fleetOfRow = (type: ResourceType, row: Row) => (type === 'fleet' ? row.id : row.fleet);

let engine: Engine;
beforeAll(() => {
  engine = loadEngine(POLICIES_DIR);
});

for (const mode of MODES) {
  describe(`the example service, ${mode.name} mode`, () => {
    let ctx: ModeContext;
    let db: Db;
    let api: DeviceApi;
    let url: string;
    beforeAll(async () => {
      ctx = await mode.start(POLICIES_DIR);
      db = openDb();
      api = await buildDeviceApi(db, ctx.client);
      await api.app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await api?.app.close();
      db?.close();
      await ctx?.stop();
    });

    const call = async (method: string, path: string, key?: string, body?: unknown) => {
      const res = await fetch(url + path, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
    };

    it("a device key gets 403 on every single-object route of another fleet, and sees no other fleet's rows", async () => {
      const probe = fc.record({ route: fc.nat(SINGLE.length - 1), target: fc.nat(), list: fc.nat(LISTS.length - 1) });
      const scenario = worldArb.chain((world) =>
        fc.record({
          world: fc.constant(world),
          actor: fc.constantFrom(...world.devices),
          probes: fc.array(probe, { minLength: 3, maxLength: 6 }),
        }),
      );
      await fc.assert(
        fc.asyncProperty(scenario, async ({ world, actor, probes }) => {
          loadWorld(db, world);
          const principal = {
            type: 'device',
            id: actor.id,
            attributes: {
              fleet: actor.fleet,
              organization: world.fleets.find((f) => f.id === actor.fleet)!.organization,
            },
          };
          const allowed = (
            action: string,
            resource: { type: string; id: string; attributes?: Record<string, unknown> },
          ) => engine.authorize({ principal, action, resource }).allowed;
          for (const p of probes) {
            const route = SINGLE[p.route]!;
            const rows = rowsOf(world, route.type);
            if (rows.length === 0) continue;
            const row = rows[p.target % rows.length]!;
            const res = await call(route.method, route.path(row.id!), actor.key, route.body);
            if (fleetOfRow(route.type, row) !== actor.fleet) {
              expect(res, `${route.method} ${route.path(row.id!)} by ${actor.id}`).toMatchObject({
                status: 403,
                body: { error: { code: 'denied' } },
              });
            } else {
              const resource = route.resource?.(row) ?? entityOf(route.type, row);
              expect(res.status, `${route.method} ${route.path(row.id!)} by ${actor.id}`).toBe(
                allowed(route.action, resource) ? (route.method === 'POST' ? 201 : 200) : 403,
              );
            }

            const [path, type] = LISTS[p.list]!;
            const listed = await call('GET', path, actor.key);
            expect(listed.status).toBe(200);
            const ids = (listed.body as Row[]).map((r) => r.id);
            // Never another fleet's row; and exactly the rows the engine allows, one by one.
            expect((listed.body as Row[]).filter((r) => fleetOfRow(type, r) !== actor.fleet)).toEqual([]);
            expect(ids).toEqual(
              rowsOf(world, type)
                .filter((r) => allowed('read', entityOf(type, r)))
                .map((r) => r.id)
                .sort(),
            );
          }
        }),
        { numRuns: 8 },
      );
    });

    it('guards every route: without credentials a 401, with a user who has no role nothing', async () => {
      loadWorld(db, {
        fleets: [{ id: 'f-0', organization: 'o-0' }],
        devices: [{ id: 'd-0', fleet: 'f-0' }],
        releases: [{ id: 'rel-0', fleet: 'f-0' }],
        fleetVariables: [{ id: 'fv-0', fleet: 'f-0' }],
        deviceVariables: [{ id: 'dv-0', device: 'd-0' }],
        users: [
          { id: 'nobody', token: 'token-nobody', roles: {} },
          { id: 'dev', token: 'token-dev', roles: { developerOf: ['f-0'] } },
        ],
      });
      const ids: Record<string, string> = {
        '/fleets/:id': 'f-0',
        '/fleets/:id/releases': 'f-0',
        '/devices/:id': 'd-0',
        '/releases/:id': 'rel-0',
        '/fleet-variables/:id': 'fv-0',
        '/device-variables/:id': 'dv-0',
      };
      const guarded = api.routes.filter((r) => r !== 'GET /health');
      expect(guarded.length).toBe(SINGLE.length + LISTS.length);
      for (const route of guarded) {
        const [method, pattern] = route.split(' ') as [string, string];
        const path = pattern.replace(':id', ids[pattern] ?? '');
        const body = method === 'GET' || method === 'DELETE' ? undefined : {};
        expect((await call(method, path, undefined, body)).status, route).toBe(401);
        const nobody = await call(method, path, 'token-nobody', body);
        if (pattern.includes(':id')) expect(nobody.status, route).toBe(403);
        else expect(nobody, route).toEqual({ status: 200, body: [] });
      }
      // The same routes answer a developer of the fleet (the guards do let allowed requests through).
      expect((await call('GET', '/devices', 'token-dev')).body.map((d: Row) => d.id)).toEqual(['d-0']);
      expect((await call('POST', '/fleets/f-0/releases', 'token-dev', { version: '2.0.0' })).status).toBe(201);
      expect((await call('GET', '/health')).status).toBe(200);
    });
  });
}

describe('the example service as one command', () => {
  const main = join(REPO_DIR, 'dist/examples/device-api/main.js');
  // npm test builds dist first; run alone without a build, this says so and skips
  it.skipIf(!existsSync(main))(
    'starts embedded on the shipped policies with demo data and guards its routes',
    async () => {
      const child = spawn(process.execPath, [main, '--embedded', '--port', '0'], {
        cwd: REPO_DIR,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise((resolve) => child.on('exit', resolve));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          child.stdout.on('data', () => {
            const address = /listening on (\S+),/.exec(out)?.[1];
            if (address && out.includes('try: curl')) resolve(address);
          });
          exited.then(() => reject(new Error(`device-api exited:\n${out}`)));
        });
        const key = /device d-thermo-1 \(f-thermo\): (\S+)/.exec(out)![1]!;
        const get = (path: string) => fetch(url + path, { headers: { authorization: `Bearer ${key}` } });
        expect(((await (await get('/releases')).json()) as Row[]).map((r) => r.fleet)).toEqual(['f-thermo']);
        expect((await get('/releases/rel-doors-1')).status).toBe(403);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    },
  );
});
