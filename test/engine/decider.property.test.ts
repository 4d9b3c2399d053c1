// The generated decision function of a policy set against the rule-by-rule path it replaces: the same
// decision, field for field (outcome, matched rules in order, reason, errors), on the shipped policies
// and on random ones, for requests damaged in every way a caller can (missing and mistyped attributes,
// unknown names), so that the errors path is exercised as much as the common one. `isAllowed` is the
// decision's `allowed`. Code split into functions (large sets) and sets too large to generate (which
// decide through the index) give the same decisions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketFor } from '../../engine/decide/bucket-for.js';
import { generateDecider } from '../../engine/compile/generate-decider.js';
import { authorizeRuleByRule } from '../../engine/decide/authorize.js';
import {
  authorize,
  isAllowed,
  REASONS,
  unknownNames,
  type AuthorizeRequest,
  type Decision,
  type PolicySet,
} from '../../engine/index.js';
import { depth } from '../support/depth.js';
import { NOW, requestArb } from '../support/fleet-arbitraries.js';
import { compileOrThrow, shippedPolicies } from '../support/policies.js';
import { policyArb, RANDOM_SCHEMA, randomRequestArb } from '../support/random-policies.js';

type Bag = Record<string, unknown>;

/** A value of the wrong kind, or one a careless reader of a plain object would get wrong. */
const oddValue = fc.constantFrom<unknown>(
  42,
  Number.NaN,
  true,
  null,
  'not a time',
  '300.1.2.3',
  '10.0.0.0/33',
  ['f-0', 7],
  ['10.0.0.0/8', 'nope'],
  [],
  {},
  'f-0',
  '2026-06-01T00:00:00Z',
);
const oddName = fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'nope', '');

/** One change to a request: an attribute dropped or replaced, a type or action renamed. */
const damage: fc.Arbitrary<(req: AuthorizeRequest) => AuthorizeRequest> = fc.oneof(
  fc
    .tuple(fc.constantFrom('principal', 'resource', 'context'), fc.nat(), oddValue, fc.boolean())
    .map(([root, pick, value, drop]) => (req: AuthorizeRequest) => {
      const bag: Bag = root === 'context' ? { ...req.context } : { ...(req[root] as { attributes?: Bag }).attributes };
      const names = Object.keys(bag);
      const name = names.length === 0 ? 'time' : names[pick % names.length]!;
      if (drop) delete bag[name];
      else bag[name] = value;
      return root === 'context' ? { ...req, context: bag } : { ...req, [root]: { ...req[root], attributes: bag } };
    }),
  fc.tuple(fc.constantFrom('principal', 'resource'), oddValue).map(([root, id]) => (req: AuthorizeRequest) => ({
    ...req,
    [root]: { ...req[root], id },
  })),
  fc.tuple(fc.constantFrom('principal', 'resource')).map(([root]) => (req: AuthorizeRequest) => ({
    ...req,
    [root]: { type: req[root].type, id: req[root].id },
  })),
  fc.constant((req: AuthorizeRequest) => ({ ...req, context: undefined })),
  fc.tuple(fc.constantFrom('principal', 'action', 'resource'), oddName).map(
    ([what, name]) =>
      (req: AuthorizeRequest) =>
        what === 'action' ? { ...req, action: name } : { ...req, [what]: { ...req[what], type: name } },
  ),
);

const damaged = (requests: fc.Arbitrary<AuthorizeRequest>) =>
  fc
    .tuple(requests, fc.array(damage, { maxLength: 2 }))
    .map(([req, changes]) => changes.reduce((r, change) => change(r), req));

/** Everything but the id, which each path is handed. */
function same(set: PolicySet, req: AuthorizeRequest, now: number): Decision {
  const slow = authorizeRuleByRule(set, req, now, 'id');
  // The generated function throws only for a rule's error (then the request is decided rule by rule):
  // anything else it threw would go unseen, the second pass giving the right answer slowly.
  if (!slow.errors?.some((e) => e.rule !== undefined)) expect(() => set.decide(req, now)).not.toThrow();
  const fast = authorize(set, req, now, 'id');
  expect(fast).toStrictEqual(slow);
  if (bucketFor(set.index, req.principal.type, req.action, req.resource.type) === undefined) {
    // No rule for these names: default deny, naming whatever the schema does not declare.
    const unknown = unknownNames(set, {
      principalType: req.principal.type,
      action: req.action,
      resourceType: req.resource.type,
    });
    expect(fast.errors).toEqual(unknown.length > 0 ? unknown : undefined);
    expect(fast.reason).toBe(unknown.length > 0 ? REASONS.unknown : REASONS.noAllow);
  }
  expect(isAllowed(set, req, now)).toBe(slow.allowed);
  return fast;
}

/** The same set deciding through the index, as sets too large to generate do. */
const throughIndex = (set: PolicySet): PolicySet => ({ ...set, decide: generateDecider(set.index, { maxSource: 0 }) });
/** The same set with every part of its code in a function of its own, as in large sets. */
const split = (set: PolicySet): PolicySet => ({ ...set, decide: generateDecider(set.index, { functionBudget: 0 }) });

describe('the generated decision function', () => {
  const shipped = shippedPolicies();
  const shippedByIndex = throughIndex(shipped);
  const shippedSplit = split(shipped);

  it('decides as the rule-by-rule path on the shipped policies, damaged requests included', () => {
    const numRuns = depth(700, 3000);
    let errors = 0;
    fc.assert(
      fc.property(damaged(requestArb()), (req) => {
        const d = same(shipped, req, NOW);
        if (d.errors !== undefined) errors++;
        expect(same(shippedByIndex, req, NOW)).toStrictEqual(d);
        expect(same(shippedSplit, req, NOW)).toStrictEqual(d);
      }),
      { numRuns },
    );
    // The property is only as good as the errors it sees: more than one run in ten.
    expect(errors).toBeGreaterThan(numRuns / 10);
  });

  it('decides as the rule-by-rule path on random policies', () => {
    fc.assert(
      fc.property(policyArb, fc.array(damaged(randomRequestArb), { minLength: 1, maxLength: 10 }), (set, requests) => {
        const byIndex = throughIndex(set);
        const inParts = split(set);
        for (const req of requests) {
          const d = same(set, req, NOW);
          expect(same(byIndex, req, NOW)).toStrictEqual(d);
          expect(same(inParts, req, NOW)).toStrictEqual(d);
        }
      }),
      { numRuns: depth(40, 200) },
    );
  });

  it('shares frozen outcomes between decisions, never one decision object', () => {
    const req = {
      principal: { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
      action: 'read',
      resource: { type: 'fleet', id: 'f-1', attributes: { organization: 'o-1' } },
    };
    const a = authorize(shipped, req, NOW, 'a');
    const b = authorize(shipped, req, NOW, 'b');
    expect(a.allowed).toBe(true);
    expect(a).not.toBe(b);
    expect(b.decisionId).toBe('b');
    expect(a.matched).toBe(b.matched);
    expect(Object.isFrozen(a.matched)).toBe(true);
  });

  // Which rules matched is a bit mask per side of a bucket: up to 30 rules, the last bit included; past
  // that the set decides through the index.
  for (const count of [30, 31]) {
    it(`keeps every match of a bucket of ${count} rules, in order`, () => {
      const rules = Array.from(
        { length: count },
        (_, i) =>
          `  - { id: r${i}, description: d, effect: allow, principal: p, actions: [a], resources: [r1], when: "principal.level >= ${i}" }\n`,
      );
      const set = compileOrThrow([
        { path: 'schema.yaml', text: RANDOM_SCHEMA },
        { path: 'many.yaml', text: `rules:\n${rules.join('')}` },
      ]);
      for (const level of [-1, 0, 1, 17, 28, 29, 30, 31]) {
        const req = {
          principal: { type: 'p', id: 'u', attributes: { team: 't', teams: [], level, active: true } },
          action: 'a',
          resource: { type: 'r1', id: 'x' },
        };
        const d = same(set, req, NOW);
        expect(d.matched.map((m) => m.rule)).toEqual(
          Array.from({ length: Math.max(0, Math.min(count, level + 1)) }, (_, i) => `r${i}`),
        );
      }
    });
  }
});
