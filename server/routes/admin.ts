// Administration behind the admin bearer token: reload, provisioning keys, keys, devices, users and their
// tokens, the sidecars on the store. Secrets appear once, in the response that creates them.
import type { FastifyPluginCallback } from 'fastify';
import type { z } from 'zod';
import { parseTime } from '../../engine/lang/index.js';
import { checkEntities, type CheckedEntity, EntitiesFile, type StoredEntity } from '../../engine/entities/index.js';
import type { PathSegment } from '../../engine/load/index.js';
import type { AppDeps } from '../app.js';
import { HttpError } from '../errors.js';
import { PackOwnedError } from '../store/stores.js';
import { requestLog } from '../log.js';
import { requireAdmin } from '../plugins/admin-auth.js';
import { bodyRoute, bodySchema } from '../body/body-schema.js';
import { ProvisioningKeyRequest, userEntity, userPath, UsersImport } from '../schemas.js';
import { LocalSidecarList, sidecarSelf } from '../sidecar-list.js';

export const adminRoutes: FastifyPluginCallback<AppDeps> = (app, deps, done) => {
  const { keys, policies, entities } = deps;
  const onRequest = requireAdmin(deps.config.adminToken);

  /** The entities checked against the serving schema, or a 400 naming the first bad value; nothing is stored then. */
  const checked = (list: StoredEntity[], pathOf: (path: PathSegment[]) => PathSegment[]): CheckedEntity[] => {
    const { entities: ok, problems } = checkEntities(policies.serving().policySet.schema, list);
    if (ok) return ok;
    const first = problems[0]!;
    const path = pathOf(first.path).join('.');
    throw new HttpError('invalid_request', `${path}: ${first.message}${first.hint ? ` (${first.hint})` : ''}`, path);
  };

  /** Stores them as the store's own; a 409 when the pack's entities.yaml declares one (the file owns it). */
  const store = async (list: CheckedEntity[]): Promise<number> => {
    try {
      return await entities.upsert(list);
    } catch (e) {
      if (e instanceof PackOwnedError) throw new HttpError('conflict', e.message);
      throw e;
    }
  };

  app.post('/v1/admin/reload', { onRequest }, async (_request, reply) => {
    const status = policies.reload();
    return reply.code(status.ok ? 200 : 422).send(status);
  });

  app.post<{ Body: z.infer<typeof ProvisioningKeyRequest> }>(
    '/v1/admin/provisioning-keys',
    { onRequest, ...bodyRoute(bodySchema(ProvisioningKeyRequest)) },
    async (request, reply) => {
      const b = request.body;
      const created = await keys.createProvisioningKey({ ...b, expiresAt: parseTime(b.expiresAt)! });
      requestLog(deps.log, request).info({ keyId: created.id, fleet: b.fleet }, 'provisioning key created');
      return reply.code(201).send(created);
    },
  );

  app.get('/v1/admin/keys', { onRequest }, async () => ({ keys: await keys.listKeys() }));

  app.post<{ Params: { id: string } }>('/v1/admin/keys/:id/revoke', { onRequest }, async (request) => {
    if (!(await keys.revokeKey(request.params.id))) throw new HttpError('not_found', `no key ${request.params.id}`);
    return { id: request.params.id, revoked: true };
  });

  app.delete<{ Params: { id: string } }>('/v1/admin/devices/:id', { onRequest }, async (request, reply) => {
    if (!(await keys.deleteDevice(request.params.id)))
      throw new HttpError('not_found', `no device ${request.params.id}`);
    return reply.code(204).send();
  });

  app.post<{ Body: z.infer<typeof UsersImport> }>(
    '/v1/admin/users',
    { onRequest, ...bodyRoute(bodySchema(UsersImport)) },
    async (request) => ({ imported: await store(checked(request.body.users.map(userEntity), userPath)) }),
  );

  app.post<{ Body: z.input<typeof EntitiesFile> }>(
    '/v1/admin/entities',
    { onRequest, ...bodyRoute(bodySchema(EntitiesFile)) },
    async (request) => {
      // The body is valid; what EntitiesFile converts when a file is read is converted here the same way:
      // a numeric id is its decimal text, no attributes are none.
      const list = request.body.entities.map(({ type, id, attributes }) => ({
        type,
        id: String(id),
        attributes: attributes ?? {},
      }));
      return { imported: await store(checked(list, (p) => ['entities', ...p])) };
    },
  );

  const sidecars =
    deps.sidecars ??
    new LocalSidecarList(sidecarSelf(`${deps.config.host}:${deps.config.port}`), () => policies.engine?.revision ?? '');
  app.get('/v1/admin/sidecars', { onRequest }, async () => ({ sidecars: await sidecars.list() }));

  app.post<{ Params: { id: string } }>('/v1/admin/users/:id/tokens', { onRequest }, async (request, reply) => {
    if (!entities.has('user', request.params.id))
      throw new HttpError('not_found', `no user ${request.params.id}; import it first`);
    const { id, key } = await keys.issue('user', request.params.id);
    return reply.code(201).send({ id, token: key });
  });
  done();
};
