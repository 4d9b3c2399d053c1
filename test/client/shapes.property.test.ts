// The shapes the client relies on: the embedded quick check never accepts a request zod refuses; the
// engine's plan and rules fit the response shapes the client checks answers against; the package
// exports the client with its types.
import { existsSync } from 'node:fs';
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
  it('exports fleetguard/client from dist, with its types', async () => {
    const pkg = await import('../../package.json', { with: { type: 'json' } });
    const entry = pkg.default.exports['./client'];
    expect(entry).toEqual({ types: './dist/client/client.d.ts', default: './dist/client/client.js' });
    // npm test builds dist before running the tests
    if (!existsSync(join(REPO_DIR, entry.default))) return;
    expect(existsSync(join(REPO_DIR, entry.types))).toBe(true);
    const client = await import('fleetguard/client');
    expect(typeof client.createClient).toBe('function');
  });
});
