// Where a shadow candidate can differ from the live set (server/shadow/changed-scope.ts): the buckets it
// names are exactly those whose rules changed, a schema that differs names none (every request is
// compared), and outside the buckets named the two sets decide every request alike (property).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAllowed, type PolicySet, readPolicySources } from '../../engine/index.js';
import { changedScope, mayDiffer } from '../../server/shadow/changed-scope.js';
import { depth } from '../support/depth.js';
import { NOW, requestArb } from '../support/fleet-arbitraries.js';
import { compileOrThrow, POLICIES_DIR, shippedPolicies } from '../support/policies.js';

const live = shippedPolicies();
/** The shipped policies with one file edited in place (the files in the order a directory gives them). */
const edited = (file: string, edit: (text: string) => string) =>
  compileOrThrow(readPolicySources(POLICIES_DIR).map((f) => (f.path === file ? { ...f, text: edit(f.text) } : f)));

const candidates: Record<string, PolicySet> = {
  'observers also read fleet variables': edited('fleet-roles.yaml', (t) =>
    t.replace('resources: [device, release, build_log]\n', 'resources: [device, release, build_log, fleet_variable]\n'),
  ),
  'devices no longer read images': edited('devices.yaml', (t) =>
    t.replace(
      'resources: [fleet_variable, release, build_log, image]',
      'resources: [fleet_variable, release, build_log]',
    ),
  ),
  'a device reads releases of its organization': shippedPolicies({
    'leak.yaml':
      'rules:\n  - id: leak\n    description: leak\n    effect: allow\n    principal: device\n    actions: [read]\n    resources: [release]\n    when: resource.organization == principal.organization\n',
  }),
  'a deny condition tightened': edited('organization-roles.yaml', (t) =>
    t.replace('context.mfa', 'context.mfa and true'),
  ),
};

const names = (scope: ReturnType<typeof changedScope>) =>
  scope &&
  [...scope.changed].flatMap(([p, byAction]) =>
    [...byAction].flatMap(([a, types]) => [...types].map((r) => `${p} ${a} ${r}`)),
  );

describe('changed scope', () => {
  it('names the buckets whose rules changed, none for the same set, and gives up on another schema', () => {
    expect(names(changedScope(live, shippedPolicies()))).toEqual([]);
    expect(names(changedScope(live, candidates['observers also read fleet variables']!))).toEqual([
      'user read fleet_variable',
    ]);
    expect(names(changedScope(live, candidates['a device reads releases of its organization']!))).toEqual([
      'device read release',
    ]);
    expect(names(changedScope(live, candidates['devices no longer read images']!))).toEqual(['device read image']);
    const schema = edited('schema.yaml', (t) => `${t}\n# a comment\n`);
    expect(changedScope(live, schema)).toBeUndefined();
    expect(mayDiffer(undefined, live.revision, 'device', 'read', 'release')).toBe(true);
  });

  for (const [name, candidate] of Object.entries(candidates)) {
    it(`outside the buckets named, the two sets decide alike: ${name}`, () => {
      const scope = changedScope(live, candidate);
      expect(scope).toBeDefined();
      let differing = 0;
      fc.assert(
        fc.property(requestArb(), (r) => {
          const differ = isAllowed(live, r, NOW) !== isAllowed(candidate, r, NOW);
          if (differ) differing++;
          if (!mayDiffer(scope, live.revision, r.principal.type, r.action, r.resource.type)) expect(differ).toBe(false);
        }),
        { numRuns: depth(2000, 20000), seed: 42 },
      );
      expect(mayDiffer(scope, 'another revision', 'user', 'read', 'organization')).toBe(true);
      // The property has teeth: the candidates that change access do differ on some generated requests.
      if (name !== 'a deny condition tightened') expect(differing).toBeGreaterThan(0);
    });
  }
});
