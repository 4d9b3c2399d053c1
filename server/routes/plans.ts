// POST /v1/plan (a filter for list queries) and POST /v1/rules (CASL rules for front ends).
import type { FastifyInstance } from 'fastify';
import { clientRules, planQuery, PlanRequestSchema, RulesRequestSchema, type Engine, type Entity } from '../../engine/index.js';
import type { AppDeps } from '../app.js';
import { HttpError } from '../errors.js';
import { jsonSchema } from '../schemas.js';

type PlanBody = { principal: Entity; action: string; resourceType: string; context?: Record<string, unknown>; columns?: Record<string, string> };

export function planRoutes(app: FastifyInstance, deps: AppDeps): void {
  const engine = (): Engine => {
    if (!deps.policies.engine) throw new HttpError('not_ready', 'no policy set is loaded');
    return deps.policies.engine;
  };
  const checkPrincipal = (e: Engine, principal: Entity) => {
    if (!e.policySet.schema.principals.has(principal.type)) throw new HttpError('unknown_principal_type', `unknown principal type \`${principal.type}\``, 'principal.type');
  };

  app.post<{ Body: PlanBody }>('/v1/plan', { schema: { body: jsonSchema(PlanRequestSchema) }, config: { zod: PlanRequestSchema } }, async (request) => {
    const e = engine();
    const body = request.body;
    checkPrincipal(e, body.principal);
    if (!e.policySet.schema.actions.includes(body.action)) throw new HttpError('unknown_action', `unknown action \`${body.action}\``, 'action');
    if (!e.policySet.schema.resources.has(body.resourceType)) throw new HttpError('unknown_resource_type', `unknown resource type \`${body.resourceType}\``, 'resourceType');
    return planQuery(e.policySet, body, Date.now());
  });

  app.post<{ Body: { principal: Entity; context?: Record<string, unknown> } }>(
    '/v1/rules',
    { schema: { body: jsonSchema(RulesRequestSchema) }, config: { zod: RulesRequestSchema } },
    async (request) => {
      const e = engine();
      checkPrincipal(e, request.body.principal);
      return clientRules(e.policySet, request.body.principal, request.body.context ?? {}, Date.now());
    },
  );
}
