// The shapes the client relies on: the embedded quick check never accepts a request zod refuses; the
// engine's plan and rules fit the response shapes the client checks answers against; the package
// exports the client with its types.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpAuthorizeRequest } from '../../api/authorize.js';
import type { PlanResponse, RulesResponse } from '../../api/plans.js';
import { surelyValidRequest } from '../../client/request-shape.js';
import type { ClientRules, Plan } from '../../engine/index.js';
import { requestArb } from '../support/fleet-arbitraries.js';
import { REPO_DIR } from '../support/policies.js';

// Type level: what the engine returns fits what the client accepts (tsc fails otherwise).
const planFits = (p: Plan): PlanResponse => p;
const rulesFit = (r: ClientRules): RulesResponse => r;
void planFits;
void rulesFit;

const anything = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ maxLength: 3 }),
  fc.integer(),
  fc.constant([]),
  fc.constant(new Date(0)),
  fc.constant(Object.create(null)),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue(), { maxKeys: 2 }),
);
const entity = fc.record(
  {
    type: fc.oneof(fc.constantFrom('device', ''), anything),
    id: fc.oneof(fc.constantFrom('d-1', ''), anything),
    attributes: anything,
  },
  { requiredKeys: [] },
);
const mutated = fc.record(
  {
    principal: fc.oneof(entity, fc.record({ credential: fc.oneof(fc.constantFrom('k', ''), anything) }), anything),
    action: fc.oneof(fc.constantFrom('read', ''), anything),
    resource: fc.oneof(entity, anything),
    context: anything,
  },
  { requiredKeys: [] },
);

describe('the embedded quick check of a request', () => {
  it('accepts nothing that zod refuses', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, anything), (x) => {
        if (surelyValidRequest(x)) expect(HttpAuthorizeRequest.safeParse(x).success).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts the requests services send (the quick path is the usual one)', () => {
    fc.assert(
      fc.property(requestArb(), (r) => surelyValidRequest(r)),
      { numRuns: 300 },
    );
  });
});

describe('the package', () => {
  it('exports fleetguard/client, fleetguard/fastify and fleetguard/express from dist, with their types', async () => {
    const exported = JSON.parse(readFileSync(join(REPO_DIR, 'package.json'), 'utf8')).exports;
    for (const name of ['client', 'fastify', 'express'])
      expect(exported[`./${name}`]).toEqual({
        types: `./dist/client/${name}.d.ts`,
        default: `./dist/client/${name}.js`,
      });
    // npm test builds dist before running the tests
    if (!existsSync(join(REPO_DIR, 'dist/client/client.js'))) return;
    for (const name of ['client', 'fastify', 'express'])
      expect(existsSync(join(REPO_DIR, `dist/client/${name}.d.ts`))).toBe(true);
    // By the package's own name, as a service imports it (a variable keeps tsc from needing dist to exist).
    const load = (name: string) => import(`fleetguard/${name}`);
    const [client, fastify, express] = await Promise.all([load('client'), load('fastify'), load('express')]);
    expect([typeof client.createClient, typeof fastify.fleetguard, typeof express.fleetguard]).toEqual([
      'function',
      'function',
      'function',
    ]);
  });
});
