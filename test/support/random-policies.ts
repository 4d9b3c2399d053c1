// Random policies over a small schema, with conditions drawn from the fragment that CASL and SQL can
// express, and random requests for them: for the differential and plan parity properties.
import fc from 'fast-check';
import type { AuthorizeRequest } from '../../engine/index.js';
import { NOW } from './fleet-arbitraries.js';
import { compileOrThrow } from './policies.js';

export const RANDOM_SCHEMA = `
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

export const policyArb = fc.array(ruleArb, { minLength: 1, maxLength: 6 }).map((rules) =>
  compileOrThrow([
    { path: 'schema.yaml', text: RANDOM_SCHEMA },
    {
      path: 'random.yaml',
      text: `rules:\n${rules
        .map(
          (r, i) =>
            `  - id: r${i}\n    description: random\n    effect: ${r.effect}\n    principal: p\n    actions: [${r.actions}]\n    resources: [${r.resources}]\n${r.when ? `    when: ${JSON.stringify(r.when)}\n` : ''}`,
        )
        .join('')}`,
    },
  ]),
);

export const teams = fc.constantFrom('t0', 't1', 't2');
export const time = fc.integer({ min: -48, max: 48 }).map((h) => new Date(NOW + h * 3_600_000).toISOString());
export const randomRequestArb: fc.Arbitrary<AuthorizeRequest> = fc.record({
  principal: fc
    .record({
      id: fc.constantFrom('u0', 'u1'),
      team: teams,
      teams: fc.subarray(['t0', 't1', 't2']),
      level: fc.integer({ min: 0, max: 3 }),
      active: fc.boolean(),
    })
    .map(({ id, ...attributes }) => ({ type: 'p', id, attributes })),
  action: fc.constantFrom('a', 'b', 'c'),
  resource: fc
    .record({
      type: fc.constantFrom('r1', 'r2'),
      id: fc.constantFrom('x0', 'x1'),
      owner: fc.constantFrom('u0', 'u1'),
      team: teams,
      level: fc.integer({ min: 0, max: 3 }),
      created: time,
      tags: fc.subarray(['t0', 't1', 't2']),
      note: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
    })
    .map(({ type, id, note, ...rest }) => ({ type, id, attributes: note === undefined ? rest : { ...rest, note } })),
  context: fc.record({ flag: fc.boolean(), time }),
});
