// An API service guarded by Fleetguard (README: "Calling Fleetguard from your service"). Every route says
// how it is guarded (the plugin refuses one that does not): a single-object route looks its row up and
// asks `authorize` before the handler runs; a list route asks `/v1/plan` and filters in SQL with the
// clause it gets, so a row the principal may not read is never fetched. Inside this repository the modules
// are imported by path; a service imports `fleetguard/client` and `fleetguard/fastify`.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { FleetguardClient } from '../../client/client.js';
import { fleetguard, type ListGuard, type ResourceGuard } from '../../client/fastify.js';
import { entityOf, findRow, listRows, principalFor, TABLES, type Db, type ResourceType } from './db.js';

export interface DeviceApi {
  app: FastifyInstance;
  /** Every route the service registered, as `METHOD /path`. */
  routes: string[];
}

type Params = { id: string };
const idOf = (request: FastifyRequest) => (request.params as Params).id;
const bearer = (request: FastifyRequest) => /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];

export async function buildDeviceApi(db: Db, client: FleetguardClient): Promise<DeviceApi> {
  const app = Fastify();
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });

  await app.register(fleetguard, {
    client,
    // The service's own credentials: a device key or a user token, as `Authorization: Bearer …`.
    principal: (request) => {
      const secret = bearer(request);
      return secret === undefined ? undefined : principalFor(db, secret);
    },
    context: (request) => ({ ip: request.ip }),
    requireGuard: true,
  });

  /** The guard of a route on one row of `type`, found by the `:id` in the path. */
  const one = (type: ResourceType, action: string): ResourceGuard<FastifyRequest> => ({
    action,
    resource: (request) => {
      const row = findRow(db, type, idOf(request));
      return row && entityOf(type, row);
    },
  });
  /** The guard of a list of `type`: a plan over the table's columns. */
  const list = (type: ResourceType): ListGuard<FastifyRequest> => ({
    action: 'read',
    resourceType: type,
    columns: TABLES[type].columns,
  });
  const rowsOf = (type: ResourceType) => async (request: FastifyRequest) =>
    listRows(db, type, request.authorizationPlan!.sql, (request.query as { fleet?: string }).fleet);
  const rowOf = (type: ResourceType) => async (request: FastifyRequest) => findRow(db, type, idOf(request));

  app.get('/health', { config: { authorize: false } }, async () => ({ ok: true }));

  app.get('/fleets', { config: { authorize: list('fleet') } }, rowsOf('fleet'));
  app.get('/fleets/:id', { config: { authorize: one('fleet', 'read') } }, rowOf('fleet'));

  app.get('/devices', { config: { authorize: list('device') } }, rowsOf('device'));
  app.get('/devices/:id', { config: { authorize: one('device', 'read') } }, rowOf('device'));
  app.patch('/devices/:id', { config: { authorize: one('device', 'update') } }, async (request) => {
    const { name } = (request.body ?? {}) as { name?: unknown };
    if (typeof name === 'string') db.prepare('UPDATE devices SET name = ? WHERE id = ?').run(name, idOf(request));
    return findRow(db, 'device', idOf(request));
  });
  app.delete('/devices/:id', { config: { authorize: one('device', 'delete') } }, async (request, reply) => {
    db.prepare('DELETE FROM devices WHERE id = ?').run(idOf(request));
    return reply.code(204).send();
  });

  app.get('/releases', { config: { authorize: list('release') } }, rowsOf('release'));
  app.get('/releases/:id', { config: { authorize: one('release', 'read') } }, rowOf('release'));
  // Creating a release is asked about the fleet it goes into: the new release's attributes.
  app.post(
    '/fleets/:id/releases',
    {
      config: {
        authorize: {
          action: 'create',
          resource: (request) => {
            const fleet = findRow(db, 'fleet', idOf(request));
            return (
              fleet && {
                type: 'release',
                id: 'new',
                attributes: { fleet: fleet.id!, organization: fleet.organization! },
              }
            );
          },
        },
      },
    },
    async (request, reply) => {
      const fleet = findRow(db, 'fleet', idOf(request))!;
      const { version } = (request.body ?? {}) as { version?: unknown };
      const id = `rel-${randomUUID()}`;
      db.prepare('INSERT INTO releases VALUES (?, ?, ?, ?)').run(
        id,
        fleet.id,
        fleet.organization,
        String(version ?? '0.0.0'),
      );
      return reply.code(201).send(findRow(db, 'release', id));
    },
  );

  app.get('/fleet-variables', { config: { authorize: list('fleet_variable') } }, rowsOf('fleet_variable'));
  app.get('/fleet-variables/:id', { config: { authorize: one('fleet_variable', 'read') } }, rowOf('fleet_variable'));
  app.put('/fleet-variables/:id', { config: { authorize: one('fleet_variable', 'update') } }, async (request) => {
    const { value } = (request.body ?? {}) as { value?: unknown };
    if (typeof value === 'string')
      db.prepare('UPDATE fleet_variables SET value = ? WHERE id = ?').run(value, idOf(request));
    return findRow(db, 'fleet_variable', idOf(request));
  });

  app.get('/device-variables', { config: { authorize: list('device_variable') } }, rowsOf('device_variable'));
  app.get('/device-variables/:id', { config: { authorize: one('device_variable', 'read') } }, rowOf('device_variable'));

  return { app, routes };
}
