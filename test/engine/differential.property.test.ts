// Paths that must agree: the compiled fast path, the CASL abilities and a naive reference evaluator, on
// the shipped policies and on random policies.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorize, buildAbility, caslSubject, type AuthorizeRequest, type PolicySet } from '../../engine/index.js';
import { NOW, requestArb } from '../support/fleet-arbitraries.js';
import { compileOrThrow, shippedPolicies } from '../support/policies.js';
import { referenceDecision } from '../support/reference-evaluator.js';

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
        expect(caslDecision(shipped, req, NOW)).toBe(fast);
        expect(referenceDecision(shipped, req, NOW)).toBe(fast);
      }),
      { numRuns: 3000 },
    );
  });

  it('deny overrides allow whatever the order of rules and files', () => {
    fc.assert(
      fc.property(requestArb(), fc.integer({ min: 0, max: 1000 }), (req, seed) => {
        // The same sources under shuffled names compile to the same decisions.
        const sources = shipped.sources.filter((s) => s.path !== 'schema.yaml' && s.path !== 'invariants.yaml');
        const renamed = sources.map((s, i) => ({ path: `${String((i * 7 + seed) % 97).padStart(2, '0')}-${s.path}`, text: s.text }));
        const shuffled = compileOrThrow([...shipped.sources.filter((s) => !sources.includes(s)), ...renamed.reverse()]);
        const a = authorize(shipped, req, NOW, 'x');
        const b = authorize(shuffled, req, NOW, 'x');
        expect(b.allowed).toBe(a.allowed);
        expect(b.matched.map((m) => m.rule).sort()).toEqual(a.matched.map((m) => m.rule).sort());
      }),
      { numRuns: 300 },
    );
  });
});

// Random policies over a small schema: conditions drawn from the expressible fragment.
const SCHEMA = `
actions: [a, b, c]
context:
  time: time
  flag: { type: bool, default: false }
principals:
  p:
    attributes:
      team: string
      teams: list<string>
      level: number
      active: bool
resources:
  r1: { attributes: { owner: string, team: string, level: number, created: time, tags: list<string>, note: string? } }
  r2: { attributes: { owner: string, team: string, level: number, created: time, tags: list<string>, note: string? } }
`;

const ATOMS = [
  'resource.team == principal.team',
  'resource.team != principal.team',
  'resource.team in principal.teams',
  'principal.team in resource.tags',
  'resource.owner == principal.id',
  'resource.level < principal.level',
  'resource.level >= 2',
  'principal.level > 1',
  'principal.active',
  'context.flag == true',
  'context.time < resource.created',
  'resource.created <= "2026-06-01T00:00:00Z"',
  '(has(resource.note) and resource.note == "x")',
  'not has(resource.note)',
  'resource.team in ["t0", "t1"]',
  'true',
  'false',
];

const conditionArb: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...ATOMS),
    tie('expr').map((e) => `not (${e})`),
    fc.tuple(tie('expr'), tie('expr')).map(([l, r]) => `(${l}) and (${r})`),
    fc.tuple(tie('expr'), tie('expr')).map(([l, r]) => `(${l}) or (${r})`),
  ),
})).expr;

const ruleArb = fc.record({
  effect: fc.constantFrom('allow', 'allow', 'deny'),
  actions: fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
  resources: fc.subarray(['r1', 'r2'], { minLength: 1 }),
  when: fc.option(conditionArb, { nil: undefined }),
});

const policyArb = fc.array(ruleArb, { minLength: 1, maxLength: 6 }).map((rules) =>
  compileOrThrow([
    { path: 'schema.yaml', text: SCHEMA },
    {
      path: 'random.yaml',
      text: `rules:\n${rules
        .map((r, i) => `  - id: r${i}\n    description: random\n    effect: ${r.effect}\n    principal: p\n    actions: [${r.actions}]\n    resources: [${r.resources}]\n${r.when ? `    when: ${JSON.stringify(r.when)}\n` : ''}`)
        .join('')}`,
    },
  ]),
);

const teams = fc.constantFrom('t0', 't1', 't2');
const time = fc.integer({ min: -48, max: 48 }).map((h) => new Date(NOW + h * 3_600_000).toISOString());
const randomRequestArb: fc.Arbitrary<AuthorizeRequest> = fc.record({
  principal: fc.record({ id: fc.constantFrom('u0', 'u1'), team: teams, teams: fc.subarray(['t0', 't1', 't2']), level: fc.integer({ min: 0, max: 3 }), active: fc.boolean() })
    .map(({ id, ...attributes }) => ({ type: 'p', id, attributes })),
  action: fc.constantFrom('a', 'b', 'c'),
  resource: fc.record({ type: fc.constantFrom('r1', 'r2'), id: fc.constantFrom('x0', 'x1'), owner: fc.constantFrom('u0', 'u1'), team: teams, level: fc.integer({ min: 0, max: 3 }), created: time, tags: fc.subarray(['t0', 't1', 't2']), note: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }) })
    .map(({ type, id, note, ...rest }) => ({ type, id, attributes: note === undefined ? rest : { ...rest, note } })),
  context: fc.record({ flag: fc.boolean(), time }),
});

describe('on random policies', () => {
  it('fast path, CASL and the reference evaluator decide identically', () => {
    fc.assert(
      fc.property(policyArb, fc.array(randomRequestArb, { minLength: 1, maxLength: 10 }), (set, requests) => {
        for (const req of requests) {
          const fast = authorize(set, req, NOW, 'x').allowed;
          expect(referenceDecision(set, req, NOW)).toBe(fast);
          expect(caslDecision(set, req, NOW)).toBe(fast);
        }
      }),
      { numRuns: 500 },
    );
  });
});
