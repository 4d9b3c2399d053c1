// Paths that must agree: the compiled fast path (`authorize` and the boolean `isAllowed`), the CASL
// abilities and a naive reference evaluator, on the shipped policies and on random policies.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  authorize,
  buildAbility,
  caslSubject,
  isAllowed,
  type AuthorizeRequest,
  type PolicySet,
} from '../../engine/index.js';
import { NOW, requestArb } from '../support/fleet-arbitraries.js';
import { compileOrThrow, shippedPolicies } from '../support/policies.js';
import { referenceDecision } from '../support/reference-evaluator.js';
import { policyArb, randomRequestArb } from '../support/random-policies.js';
import { depth } from '../support/depth.js';

function caslDecision(set: PolicySet, req: AuthorizeRequest, now: number): boolean {
  const ability = buildAbility(set, { principal: req.principal, context: req.context ?? {}, now });
  return ability.can(req.action, caslSubject(set, req.resource));
}

describe('fast path, CASL and the reference evaluator agree', () => {
  const shipped = shippedPolicies();

  it('on the shipped policies, for random requests over random fleets', () => {
    fc.assert(
      fc.property(requestArb(), (req) => {
        const fast = authorize(shipped, req, NOW, 'x').allowed;
        expect(isAllowed(shipped, req, NOW)).toBe(fast);
        expect(caslDecision(shipped, req, NOW)).toBe(fast);
        expect(referenceDecision(shipped, req, NOW)).toBe(fast);
      }),
      { numRuns: depth(400, 10_000) },
    );
  });

  it('deny overrides allow whatever the order of rules and files', () => {
    fc.assert(
      fc.property(requestArb(), fc.integer({ min: 0, max: 1000 }), (req, seed) => {
        // The same sources under shuffled names compile to the same decisions.
        const sources = shipped.sources.filter((s) => s.path !== 'schema.yaml' && s.path !== 'invariants.yaml');
        const renamed = sources.map((s, i) => ({
          path: `${String((i * 7 + seed) % 97).padStart(2, '0')}-${s.path}`,
          text: s.text,
        }));
        const shuffled = compileOrThrow([...shipped.sources.filter((s) => !sources.includes(s)), ...renamed.reverse()]);
        const a = authorize(shipped, req, NOW, 'x');
        const b = authorize(shuffled, req, NOW, 'x');
        expect(b.allowed).toBe(a.allowed);
        expect(isAllowed(shuffled, req, NOW)).toBe(a.allowed);
        expect(b.matched.map((m) => m.rule).sort()).toEqual(a.matched.map((m) => m.rule).sort());
      }),
      { numRuns: depth(25, 1000) },
    );
  });
});

describe('on random policies', () => {
  it('fast path, CASL and the reference evaluator decide identically', () => {
    fc.assert(
      fc.property(policyArb, fc.array(randomRequestArb, { minLength: 1, maxLength: 10 }), (set, requests) => {
        for (const req of requests) {
          const fast = authorize(set, req, NOW, 'x').allowed;
          expect(isAllowed(set, req, NOW)).toBe(fast);
          expect(referenceDecision(set, req, NOW)).toBe(fast);
          expect(caslDecision(set, req, NOW)).toBe(fast);
        }
      }),
      { numRuns: depth(80, 2000) },
    );
  });
});
