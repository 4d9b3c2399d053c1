// The fastify plugin and the Express middleware, each in both modes, over real HTTP: a guarded route's
// handler runs only for an allow; no principal is a 401, no resource a 404, a deny a 403 with the
// decision id; a list route gets its query plan; an unreachable Fleetguard is a 403 too.
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Entity, type FleetguardClient } from '../../client/client.js';
import { fleetguard as fleetguardExpress } from '../../client/express.js';
import { fleetguard as fleetguardFastify } from '../../client/fastify.js';
import { MODES, type ModeContext } from '../support/client-modes.js';
import { POLICIES_DIR } from '../support/policies.js';
import { closedPort } from '../support/stub-pdp.js';

const RELEASES: Record<string, Entity> = {
  'r-1': { type: 'release', id: 'r-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
  'r-2': { type: 'release', id: 'r-2', attributes: { fleet: 'f-2', organization: 'o-1' } },
};
/** `x-device: d-1/f-1` stands for a device's credentials. */
const deviceOf = (header: string | string[] | undefined) => {
  if (typeof header !== 'string') return undefined;
  if (header === 'throw') throw new Error('session store down');
  const [id, fleet] = header.split('/');
  return { type: 'device', id: id!, attributes: { fleet: fleet!, organization: 'o-1' } };
};

interface Service {
  url: string;
  handled: string[];
  close(): Promise<void>;
}

async function fastifyService(client: FleetguardClient): Promise<Service> {
  const handled: string[] = [];
  const app = Fastify();
  await app.register(fleetguardFastify, {
    client,
    principal: (req) => deviceOf(req.headers['x-device']),
    requireGuard: true,
  });
  const release = (req: FastifyRequest) => RELEASES[(req.params as { id: string }).id];
  app.get('/releases/:id', { config: { authorize: { action: 'read', resource: release } } }, async (req) => {
    handled.push(req.url);
    return release(req);
  });
  app.delete('/releases/:id', { config: { authorize: { action: 'delete', resource: release } } }, async (req) => {
    handled.push(req.url);
    return {};
  });
  app.get(
    '/releases',
    { config: { authorize: { action: 'read', resourceType: 'release', columns: { fleet: 'fleet_id' } } } },
    async (req) => {
      handled.push(req.url);
      return req.authorizationPlan!.sql;
    },
  );
  app.get('/ask/:id', { config: { authorize: false } }, async (req) => {
    handled.push(req.url);
    return { allowed: (await req.authorize('read', release(req)!)).allowed };
  });
  app.get(
    '/broken',
    { config: { authorize: { action: 'read', resource: () => Promise.reject(new Error('db down')) } } },
    async () => {
      handled.push('/broken');
      return {};
    },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, handled, close: () => app.close() };
}

async function expressService(client: FleetguardClient): Promise<Service> {
  const handled: string[] = [];
  const app = express();
  const fg = fleetguardExpress({ client, principal: (req) => deviceOf(req.headers['x-device']) });
  app.use(fg);
  const release = (req: express.Request) => RELEASES[req.params.id as string];
  app.get('/releases/:id', fg.guard({ action: 'read', resource: release }), (req, res) => {
    handled.push(req.url);
    res.json(release(req));
  });
  app.delete('/releases/:id', fg.guard({ action: 'delete', resource: release }), (req, res) => {
    handled.push(req.url);
    res.json({});
  });
  app.get(
    '/releases',
    fg.guard({ action: 'read', resourceType: 'release', columns: { fleet: 'fleet_id' } }),
    (req, res) => {
      handled.push(req.url);
      res.json(req.authorizationPlan!.sql);
    },
  );
  app.get('/ask/:id', async (req, res) => {
    handled.push(req.url);
    res.json({ allowed: (await req.authorize!('read', release(req)!)).allowed });
  });
  app.get(
    '/broken',
    fg.guard({ action: 'read', resource: () => Promise.reject(new Error('db down')) }),
    (_req, res) => {
      handled.push('/broken');
      res.json({});
    },
  );
  app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
  });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    handled,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const FRAMEWORKS = [
  ['fastify', fastifyService],
  ['express', expressService],
] as const;

async function get(service: Service, path: string, device?: string, method = 'GET') {
  const res = await fetch(service.url + path, { method, headers: device ? { 'x-device': device } : {} });
  return { status: res.status, body: await res.json() };
}

for (const mode of MODES) {
  describe(`${mode.name} mode`, () => {
    let ctx: ModeContext;
    beforeAll(async () => {
      ctx = await mode.start(POLICIES_DIR);
    });
    afterAll(() => ctx?.stop());

    for (const [name, start] of FRAMEWORKS) {
      describe(name, () => {
        let service: Service;
        beforeAll(async () => {
          service = await start(ctx.client);
        });
        afterAll(() => service?.close());

        it('runs the handler only for an allow: 403 with the decision id otherwise, 401 without a principal, 404 without the resource', async () => {
          service.handled.length = 0;
          expect(await get(service, '/releases/r-1', 'd-1/f-1')).toEqual({ status: 200, body: RELEASES['r-1'] });
          const denied = await get(service, '/releases/r-2', 'd-1/f-1');
          expect(denied).toMatchObject({ status: 403, body: { error: { code: 'denied' } } });
          expect(denied.body.decisionId).toEqual(expect.any(String));
          expect((await get(service, '/releases/r-1', 'd-1/f-1', 'DELETE')).status).toBe(403);
          expect((await get(service, '/releases/r-1')).status).toBe(401);
          expect((await get(service, '/releases/r-9', 'd-1/f-1')).status).toBe(404);
          expect(service.handled).toEqual(['/releases/r-1']);
        });

        it('gives a list route its query plan', async () => {
          expect(await get(service, '/releases', 'd-1/f-1')).toEqual({
            status: 200,
            body: { where: '"fleet_id" = ?', params: ['f-1'] },
          });
          expect((await get(service, '/releases')).status).toBe(401);
        });

        it('answers request.authorize in a handler', async () => {
          expect((await get(service, '/ask/r-1', 'd-1/f-1')).body).toEqual({ allowed: true });
          expect((await get(service, '/ask/r-2', 'd-1/f-1')).body).toEqual({ allowed: false });
          expect((await get(service, '/ask/r-1')).body).toEqual({ allowed: false });
        });

        it("leaves an error of the service's own lookup to its error handling, the handler not run", async () => {
          expect((await get(service, '/broken', 'd-1/f-1')).status).toBe(500);
          expect(service.handled).not.toContain('/broken');
        });

        it('makes request.authorize a deny, not a throw, when the principal function throws', async () => {
          expect((await get(service, '/ask/r-1', 'throw')).body).toEqual({ allowed: false });
        });
      });
    }
  });
}

describe('when Fleetguard cannot be reached', () => {
  for (const [name, start] of FRAMEWORKS) {
    it(`${name}: a guarded route answers 403 and its handler does not run; a list is filtered to nothing`, async () => {
      const client = createClient({ url: await closedPort() });
      const service = await start(client);
      try {
        const denied = await get(service, '/releases/r-1', 'd-1/f-1');
        expect(denied).toMatchObject({ status: 403, body: { error: { code: 'denied' } } });
        expect(await get(service, '/releases', 'd-1/f-1')).toEqual({
          status: 200,
          body: { where: '1 = 0', params: [] },
        });
        expect(service.handled).toEqual(['/releases']);
      } finally {
        await service.close();
        await client.close();
      }
    });
  }
});

describe('requireGuard', () => {
  it('refuses at startup a route that does not say how it is guarded', async () => {
    const app = Fastify();
    const client = createClient({ policies: POLICIES_DIR });
    await app.register(fleetguardFastify, { client, principal: () => undefined, requireGuard: true });
    app.get('/public', { config: { authorize: false } }, async () => ({}));
    expect(() => app.get('/forgotten', async () => ({}))).toThrow(/GET \/forgotten has no config.authorize/);
    await app.close();
    await client.close();
  });
});
