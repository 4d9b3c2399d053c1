// `fleetguard verify`: the shipped invariants are proved statically; each kind of leak the issue names is
// caught with a counterexample the engine confirms; the randomized search finds what the solver finds. A real
// process checks the exit status and output of a violation; the other runs of the command run its main() in
// this process (fleetguardInProcess), without a process's module loading and solver start.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authorize } from '../../engine/index.js';
import { searchCounterexample } from '../../engine/verify/search.js';
import { verifyInvariants } from '../../engine/verify/verify-invariants.js';
import { fleetguard } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { NOW } from '../support/fleet-arbitraries.js';
import { POLICIES_DIR, shippedPolicies } from '../support/policies.js';

const leak = (resources: string, when: string) =>
  `rules:\n  - id: leak\n    description: injected\n    effect: allow\n    principal: device\n    actions: [read]\n    resources: [${resources}]\n    when: ${when}\n`;

const LEAKS: Record<string, { files: Record<string, string>; invariant: string; rule: string }> = {
  'an `or` branch that escapes the fleet check': {
    files: {
      'leak.yaml': leak(
        'fleet_variable',
        'resource.fleet == principal.fleet or resource.organization == principal.organization',
      ),
    },
    invariant: 'device-fleet-isolation',
    rule: 'leak',
  },
  'a comparison against the wrong attribute (organization instead of fleet)': {
    files: { 'leak.yaml': leak('release', 'resource.organization == principal.organization') },
    invariant: 'device-fleet-isolation',
    rule: 'leak',
  },
  'several resource types where one lacks the fleet check': {
    files: { 'leak.yaml': leak('release, device', 'resource.fleet == principal.fleet or resource.id == principal.id') },
    invariant: 'device-fleet-isolation',
    rule: 'leak',
  },
  'a hidden `or true`': {
    files: { 'leak.yaml': leak('fleet_variable', 'resource.fleet == principal.fleet or true') },
    invariant: 'device-fleet-isolation',
    rule: 'leak',
  },
};

describe('verify', () => {
  it('proves every shipped invariant', async () => {
    const results = await verifyInvariants(shippedPolicies(), { now: NOW });
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['device-fleet-isolation', 'PROVED'],
      ['device-read-only', 'PROVED'],
      ['provisioning-key-register-only', 'PROVED'],
      ['only-builder-writes-images', 'PROVED'],
      ['default-deny', 'PROVED'],
    ]);
    // Proofs come from solver queries (device-read-only needs none: no rule allows those actions at all).
    expect(results.find((r) => r.id === 'device-fleet-isolation')!.queries).toBeGreaterThan(5);
    expect(results.find((r) => r.id === 'provisioning-key-register-only')!.queries).toBeGreaterThan(0);
  });

  for (const [name, { files, invariant, rule }] of Object.entries(LEAKS)) {
    it(`catches ${name}, with a counterexample the engine allows`, async () => {
      const set = shippedPolicies(files);
      const results = await verifyInvariants(set, { now: NOW });
      const violated = results.filter((r) => r.status === 'VIOLATED');
      expect(violated.map((r) => r.id)).toEqual([invariant]);
      const [v] = violated;
      expect(v!.rule).toMatchObject({ rule, policy: 'leak.yaml', at: { line: 2 } });
      expect(authorize(set, v!.counterexample!, NOW, 'x').allowed).toBe(true);
      const p = v!.counterexample!.principal.attributes!;
      const r = v!.counterexample!.resource;
      expect(r.attributes!.fleet).not.toBe(p.fleet);
    });
  }

  it('catches a deny rule that is supposed to protect but never matches', async () => {
    const shipped = shippedPolicies();
    const roles = shipped.sources.find((s) => s.path === 'organization-roles.yaml')!;
    const broken = roles.text.replace(
      '    resources: [image]\n',
      '    resources: [image]\n    when: principal.id == "nobody"\n',
    );
    const set = shippedPolicies({ 'organization-roles.yaml': broken });
    const [violated] = (await verifyInvariants(set, { now: NOW })).filter((r) => r.status === 'VIOLATED');
    expect(violated).toMatchObject({
      id: 'only-builder-writes-images',
      rule: { rule: 'org-admin-resources' },
      counterexample: { action: expect.stringMatching(/^(create|update)$/), resource: { type: 'image' } },
    });
  });

  it('the randomized search (second line of evidence) finds a leak too', () => {
    const set = shippedPolicies({ 'leak.yaml': leak('release', 'resource.organization == principal.organization') });
    const inv = set.invariants.find((i) => i.id === 'device-fleet-isolation')!;
    const found = searchCounterexample(set, inv, inv.checks[0]!, 'device', 'read', 'release', { now: NOW });
    expect(found).toBeDefined();
    expect(authorize(set, found!, NOW, 'x').allowed).toBe(true);
    expect(
      searchCounterexample(shippedPolicies(), inv, inv.checks[0]!, 'device', 'read', 'release', { now: NOW }),
    ).toBeUndefined();
  });
});

describe('fleetguard verify', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-verify-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('prints PROVED lines and exits 0 on the shipped policies', async () => {
    const r = await fleetguardInProcess(['verify', POLICIES_DIR]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'PROVED device-fleet-isolation',
      'PROVED device-read-only',
      'PROVED provisioning-key-register-only',
      'PROVED only-builder-writes-images',
      'PROVED default-deny',
    ]);
  });

  it('gives descriptions without the trailing newline of a folded YAML scalar (`>`)', async () => {
    const { results } = JSON.parse((await fleetguardInProcess(['verify', POLICIES_DIR, '--json'])).stdout) as {
      results: { id: string; description: string }[];
    };
    const folded = results.find((r) => r.id === 'provisioning-key-register-only')!;
    expect(folded.description).toBe(
      'A provisioning key is allowed nothing but register on its own fleet, and only within its limits.',
    );
    for (const r of results) expect(r.description).toBe(r.description.trim());
  });

  it('prints VIOLATED with the rule and a counterexample, and exits 1', async () => {
    const dir = join(tmp, 'leaky');
    cpSync(POLICIES_DIR, dir, { recursive: true });
    writeFileSync(
      join(dir, 'leak.yaml'),
      LEAKS['a comparison against the wrong attribute (organization instead of fleet)']!.files['leak.yaml']!,
    );
    const r = fleetguard(['verify', dir]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^VIOLATED device-fleet-isolation: .*\n {2}granted by rule leak at leak\.yaml:2\n {2}counterexample: \{.*"type":"release".*\}$/m,
    );
    const json = JSON.parse((await fleetguardInProcess(['verify', dir, '--json'])).stdout);
    expect(json.results.find((x: { id: string }) => x.id === 'device-fleet-isolation').status).toBe('VIOLATED');
  });
});
