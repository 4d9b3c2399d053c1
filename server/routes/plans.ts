// POST /v1/plan (a filter for list queries) and POST /v1/rules (CASL rules for front ends).
import type { FastifyPluginCallback } from 'fastify';
import { clientRules, planQuery, PlanRequestSchema, RulesRequestSchema, type Entity } from '../../engine/index.js';
import type { AppDeps } from '../app.js';
import { knownNames, unknownNameError } from '../decide/known-names.js';
import { bodyRoute, bodySchema } from '../body/body-schema.js';

type PlanBody = {
  principal: Entity;
  action: string;
  resourceType: string;
  context?: Record<string, unknown>;
  columns?: Record<string, string>;
};

export const planRoutes: FastifyPluginCallback<AppDeps> = (app, deps, done) => {
  app.post<{ Body: PlanBody }>('/v1/plan', bodyRoute(bodySchema(PlanRequestSchema)), async (request) => {
    const e = deps.policies.serving();
    const body = request.body;
    if (!knownNames(e, body.principal.type, body.action, body.resourceType)) {
      const names = { principalType: body.principal.type, action: body.action, resourceType: body.resourceType };
      throw unknownNameError(e, names, {
        principalType: 'principal.type',
        action: 'action',
        resourceType: 'resourceType',
      });
    }
    return planQuery(e.policySet, body, Date.now());
  });

  app.post<{ Body: { principal: Entity; context?: Record<string, unknown> } }>(
    '/v1/rules',
    bodyRoute(bodySchema(RulesRequestSchema)),
    async (request) => {
      const e = deps.policies.serving();
      const principalType = request.body.principal.type;
      if (!knownNames(e, principalType, undefined, undefined))
        throw unknownNameError(e, { principalType }, { principalType: 'principal.type' });
      return clientRules(e.policySet, request.body.principal, request.body.context ?? {}, Date.now());
    },
  );
  done();
};
