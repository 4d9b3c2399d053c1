// GET /openapi.json: the OpenAPI document of the routes the app registered (recorded as fastify registers
// them, so no route is left out), each operation described below, with the zod schemas the routes validate
// with. A route registered without a description here is listed as undocumented, which a test refuses.
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { AuthorizeRequestSchema, DecisionSchema, PlanRequestSchema, RulesRequestSchema } from '../../engine/index.js';
import { AzActionSearch, AzEvaluation, AzEvaluations, AzResourceSearch, AzSubjectSearch } from '../authzen-schemas.js';
import { EntitiesFile } from '../../engine/entities/index.js';
import { ShadowCandidateRequest } from './shadow.js';
import {
  BatchRequest,
  BatchResponse,
  ErrorResponse,
  ProvisioningKeyRequest,
  ProvisionRequest,
  UsersImport,
} from '../schemas.js';
import { jsonSchema } from '../body/body-schema.js';

/** A route as registered: `POST /v1/admin/keys/{id}/revoke` (OpenAPI's braces for fastify's `:id`). */
export interface RegisteredRoute {
  method: string;
  path: string;
}

type Operation = Record<string, unknown>;

/** Records every route from now on, in this instance and the plugins registered in it (HEAD twins left out). */
export function recordRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method: method.toLowerCase(), path: route.url.replace(/:(\w+)/g, '{$1}') });
    }
  });
  return routes;
}

export function openApiDocument(batchLimit: number, routes: RegisteredRoute[]): Record<string, unknown> {
  const json = (schema: Record<string, unknown>) => ({ content: { 'application/json': { schema } } });
  const errors = {
    400: {
      description: 'Malformed request, or a type or action the schema does not declare',
      ...json({ $ref: '#/components/schemas/Error' }),
    },
    413: { description: 'Body too large', ...json({ $ref: '#/components/schemas/Error' }) },
    503: { description: 'No policy set loaded', ...json({ $ref: '#/components/schemas/Error' }) },
  };
  const authzen = (summary: string, schema: string, answer: string): Record<string, Operation> => ({
    post: {
      summary,
      security: [{ authzen: [] }, {}],
      requestBody: { required: true, ...json({ $ref: `#/components/schemas/${schema}` }) },
      responses: {
        200: { description: answer },
        401: { description: 'No or wrong token (with --authzen-token)' },
        ...errors,
      },
    },
  });
  const described: Record<string, Record<string, Operation>> = {
    '/v1/authorize': {
      post: {
        summary: 'Decide one request',
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/AuthorizeRequest' }) },
        responses: {
          200: {
            description: 'The decision (a deny is a 200 too)',
            ...json({ $ref: '#/components/schemas/Decision' }),
          },
          ...errors,
        },
      },
    },
    '/v1/authorize/batch': {
      post: {
        summary: `Decide up to ${batchLimit} requests; results in request order`,
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/BatchRequest' }) },
        responses: {
          200: { description: 'One decision per request', ...json({ $ref: '#/components/schemas/BatchResponse' }) },
          ...errors,
        },
      },
    },
    '/v1/plan': {
      post: {
        summary:
          'A filter for list queries: the condition over resource attributes and a parameterized SQL WHERE clause',
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/PlanRequest' }) },
        responses: {
          200: { description: '{ kind, condition, sql: { where, params }, partial?, reason? }' },
          ...errors,
        },
      },
    },
    '/v1/rules': {
      post: {
        summary: "The principal's packed CASL rules (resource conditions only) for front ends",
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/RulesRequest' }) },
        responses: { 200: { description: '{ rules, policyRevision, partial?, reason? }' }, ...errors },
      },
    },
    '/v1/provision': {
      post: {
        summary: 'Register a device with a provisioning key; the device key is returned once',
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/ProvisionRequest' }) },
        responses: {
          201: { description: '{ device: { id, fleet, organization }, deviceKey, decisionId }' },
          403: { description: 'Denied, the same body whatever the reason' },
          409: { description: 'The device id exists; nothing counted' },
          429: { description: 'Too many attempts for this key or client address' },
        },
      },
    },
    '/v1/admin/provisioning-keys': {
      post: {
        summary: 'Create a provisioning key (admin)',
        security: [{ admin: [] }],
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/ProvisioningKeyRequest' }) },
        responses: {
          201: { description: '{ id, key }: the key is shown only here' },
          400: errors[400],
          401: { description: 'No or wrong token' },
        },
      },
    },
    '/v1/admin/keys': {
      get: {
        summary: 'List keys, never secrets (admin)',
        security: [{ admin: [] }],
        responses: { 200: { description: '{ keys: [...] }' } },
      },
    },
    '/v1/admin/keys/{id}/revoke': {
      post: {
        summary: 'Revoke a key (admin)',
        security: [{ admin: [] }],
        responses: { 200: { description: 'Revoked' }, 404: { description: 'No such key' } },
      },
    },
    '/v1/admin/devices/{id}': {
      delete: {
        summary: 'Delete a device and its key (admin)',
        security: [{ admin: [] }],
        responses: { 204: { description: 'Deleted' }, 404: { description: 'No such device' } },
      },
    },
    '/v1/admin/users': {
      post: {
        summary: 'Create or replace users and their roles (admin)',
        security: [{ admin: [] }],
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/UsersImport' }) },
        responses: { 200: { description: '{ imported }' } },
      },
    },
    '/v1/admin/users/{id}/tokens': {
      post: {
        summary: 'Issue an API token for a user (admin)',
        security: [{ admin: [] }],
        responses: { 201: { description: '{ id, token }' }, 404: { description: 'No such user' } },
      },
    },
    '/v1/admin/sidecars': {
      get: {
        summary:
          'The sidecars on this store: id, host, address, policy revision, started, last seen, stale (admin; on a SQLite store, this sidecar alone)',
        security: [{ admin: [] }],
        responses: { 200: { description: '{ sidecars: [...] }' }, 401: { description: 'No or wrong token' } },
      },
    },
    '/health': {
      get: { summary: 'The process is up; policy status and last reload', responses: { 200: { description: 'Up' } } },
    },
    '/ready': {
      get: { summary: 'A policy set is loaded', responses: { 200: { description: 'Ready' }, 503: errors[503] } },
    },
    '/metrics': {
      get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text format' } } },
    },
    '/v1/admin/reload': {
      post: {
        summary: 'Reload the policies (admin bearer token)',
        security: [{ admin: [] }],
        responses: {
          200: { description: 'Reloaded' },
          401: { description: 'No or wrong token' },
          422: { description: 'The new policies do not compile; the old set is still served' },
        },
      },
    },
    '/v1/admin/shadow': {
      get: {
        summary:
          'Shadow evaluation: the candidate, and its disagreements with the live set by principal type, action and resource type, with the first examples (admin); ?since=T|30d&examples=N',
        security: [{ admin: [] }],
        responses: {
          200: { description: '{ candidate, recording, total, widened, narrowed, groups, … }' },
          401: { description: 'No or wrong token' },
        },
      },
      put: {
        summary: 'Shadow a candidate policy directory from now on (admin)',
        security: [{ admin: [] }],
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/ShadowCandidateRequest' }) },
        responses: {
          200: { description: 'Loaded: { ok, revision, policies }' },
          401: { description: 'No or wrong token' },
          422: {
            description:
              'The candidate does not compile ({ errors } as file:line:col); the previous candidate, if any, stays',
          },
        },
      },
      delete: {
        summary: 'Stop shadow evaluation (admin); what was recorded stays',
        security: [{ admin: [] }],
        responses: { 204: { description: 'Stopped' }, 401: { description: 'No or wrong token' } },
      },
    },
    '/v1/admin/entities': {
      post: {
        summary: 'Create or replace stored entities, as an entities.yaml file lists them (admin)',
        security: [{ admin: [] }],
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/EntitiesFile' }) },
        responses: {
          200: { description: '{ imported }' },
          400: errors[400],
          401: { description: 'No or wrong token' },
          409: { description: "An entity the pack's entities.yaml declares" },
        },
      },
    },
    '/access/v1/evaluation': authzen('AuthZEN: decide one request', 'AzEvaluation', '{ decision, context }'),
    '/access/v1/evaluations': authzen(
      `AuthZEN: decide up to ${batchLimit} requests, with an evaluation semantic`,
      'AzEvaluations',
      '{ evaluations: [{ decision, context }] }',
    ),
    '/access/v1/search/subject': authzen(
      'AuthZEN: the subjects of a type allowed an action on a resource',
      'AzSubjectSearch',
      '{ results, page }',
    ),
    '/access/v1/search/resource': authzen(
      'AuthZEN: the resources of a type a subject may act on',
      'AzResourceSearch',
      '{ results, page }',
    ),
    '/access/v1/search/action': authzen(
      'AuthZEN: the actions a subject may take on a resource',
      'AzActionSearch',
      '{ results, page }',
    ),
    '/.well-known/authzen-configuration': {
      get: {
        summary: 'AuthZEN discovery: the policy decision point and its endpoints',
        responses: { 200: { description: '{ policy_decision_point, access_evaluation_endpoint, … }' } },
      },
    },
    '/openapi.json': {
      get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } },
    },
  };
  const paths: Record<string, Record<string, Operation>> = {};
  for (const { method, path } of routes) {
    const operation = described[path]?.[method] ?? {
      summary: 'Undocumented',
      responses: { default: { description: 'Undocumented' } },
    };
    (paths[path] ??= {})[method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fleetguard',
      version: '1',
      description: 'Authorization decisions for fleets of devices.',
    },
    paths,
    components: {
      securitySchemes: { admin: { type: 'http', scheme: 'bearer' }, authzen: { type: 'http', scheme: 'bearer' } },
      schemas: {
        AuthorizeRequest: jsonSchema(AuthorizeRequestSchema),
        BatchRequest: jsonSchema(BatchRequest(batchLimit)),
        Decision: jsonSchema(DecisionSchema, 'output'),
        BatchResponse: jsonSchema(BatchResponse, 'output'),
        Error: jsonSchema(ErrorResponse, 'output'),
        PlanRequest: jsonSchema(PlanRequestSchema),
        ProvisionRequest: jsonSchema(ProvisionRequest),
        ProvisioningKeyRequest: jsonSchema(ProvisioningKeyRequest),
        UsersImport: jsonSchema(UsersImport),
        RulesRequest: jsonSchema(RulesRequestSchema),
        EntitiesFile: jsonSchema(EntitiesFile),
        ShadowCandidateRequest: jsonSchema(ShadowCandidateRequest),
        AzEvaluation: jsonSchema(AzEvaluation),
        AzEvaluations: jsonSchema(AzEvaluations(batchLimit)),
        AzSubjectSearch: jsonSchema(AzSubjectSearch),
        AzResourceSearch: jsonSchema(AzResourceSearch),
        AzActionSearch: jsonSchema(AzActionSearch),
      },
    },
  };
}

/** Serves the document of `routes`, built on the first request: by then every route is registered. */
export const openApiRoutes: FastifyPluginCallback<{ batchLimit: number; routes: RegisteredRoute[] }> = (
  app,
  { batchLimit, routes },
  done,
) => {
  let doc: Record<string, unknown> | undefined;
  app.get('/openapi.json', async () => (doc ??= openApiDocument(batchLimit, routes)));
  done();
};
