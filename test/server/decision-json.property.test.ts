// The authorize routes serialize decisions from cached pieces (server/decision-json.ts): that path must
// agree with JSON.stringify byte for byte, on engine decisions and on any decision the type allows.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorize, type Decision } from '../../engine/index.js';
import { batchJson, decisionJson } from '../../server/decision-json.js';
import { NOW, requestArb } from '../support/fleet-arbitraries.js';
import { shippedPolicies } from '../support/policies.js';
import { depth } from '../support/depth.js';

const text = fc.string({ unit: 'binary', maxLength: 12 }); // lone surrogates, quotes, control characters
const ref = fc.record({ policy: text, rule: text, effect: fc.constantFrom('allow' as const, 'deny' as const) });
const error = fc.record(
  { code: text, message: text, policy: fc.option(text, { nil: undefined }), rule: fc.option(text, { nil: undefined }) },
  { requiredKeys: ['code', 'message'] },
);

/** Decisions in the engine's field order, including outcome fields that disagree (never made, still serialized faithfully). */
const decisionArb: fc.Arbitrary<Decision> = fc
  .record({
    decision: fc.constantFrom('allow' as const, 'deny' as const),
    allowed: fc.boolean(),
    decisionId: text,
    policyRevision: text,
    matched: fc.array(ref, { maxLength: 3 }),
    reason: fc.option(text, { nil: undefined }),
    errors: fc.option(fc.array(error, { maxLength: 2 }), { nil: undefined }),
  })
  .map((d) => ({
    decision: d.decision,
    allowed: d.allowed,
    decisionId: d.decisionId,
    policyRevision: d.policyRevision,
    matched: d.matched,
    reason: d.reason,
    errors: d.errors,
  }));

describe('decision JSON from cached pieces', () => {
  it('is JSON.stringify of any decision, alone and in a batch', () => {
    fc.assert(
      fc.property(fc.array(decisionArb, { maxLength: 5 }), (decisions) => {
        for (const d of decisions) expect(decisionJson(d)).toBe(JSON.stringify(d));
        expect(batchJson({ results: decisions })).toBe(JSON.stringify({ results: decisions }));
      }),
      { numRuns: depth(500, 5000) },
    );
  });

  it('is JSON.stringify of the engine decisions on the shipped policies (rule pieces reused across calls)', () => {
    const set = shippedPolicies();
    let matched = 0;
    fc.assert(
      fc.property(requestArb(), fc.string(), (req, id) => {
        const d = authorize(set, req, NOW, id);
        matched += d.matched.length;
        expect(decisionJson(d)).toBe(JSON.stringify(d));
      }),
      { numRuns: depth(2000, 10_000) },
    );
    expect(matched).toBeGreaterThan(100); // the cached rule pieces were exercised
  });
});
