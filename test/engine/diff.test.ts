// `fleetguard diff`: widened, narrowed or unchanged, with the rule, the condition and an example that
// both engines confirm; git revisions; --replay of a decision log. A real process checks the exit status and
// output of a widening; the other runs of the command run its main() in this process (fleetguardInProcess),
// without a process's module loading and solver start.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authorize } from '../../engine/index.js';
import { diffPolicies } from '../../engine/diff/diff-policies.js';
import { fleetguard } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { NOW } from '../support/fleet-arbitraries.js';
import { POLICIES_DIR, REPO_DIR, shippedPolicies } from '../support/policies.js';
import { startTestServer } from '../support/server.js';

const LEAK =
  'rules:\n  - id: leak\n    description: leak\n    effect: allow\n    principal: device\n    actions: [read]\n    resources: [release]\n    when: resource.organization == principal.organization\n';

describe('diffPolicies', () => {
  it('finds the widening a leaky rule brings, with the rule and a confirmed example', async () => {
    const before = shippedPolicies();
    const after = shippedPolicies({ 'leak.yaml': LEAK });
    const { changes, unknown } = await diffPolicies(before, after, NOW);
    expect(unknown).toEqual([]);
    const widened = changes.filter((c) => c.change === 'widened');
    expect(widened.map((c) => `${c.principal} ${c.action} ${c.resource}`)).toEqual(['device read release']);
    expect(widened[0]!.because).toEqual([
      {
        policy: 'leak.yaml',
        rule: 'leak',
        effect: 'allow',
        line: 2,
        when: 'resource.organization == principal.organization',
      },
    ]);
    expect(authorize(after, widened[0]!.example, NOW, 'x').allowed).toBe(true);
    expect(authorize(before, widened[0]!.example, NOW, 'x').allowed).toBe(false);
  });

  it('finds a narrowing and names the deny rule that causes it', async () => {
    const before = shippedPolicies();
    const roles = before.sources.find((s) => s.path === 'organization-roles.yaml')!.text;
    const after = shippedPolicies({
      'organization-roles.yaml': roles.replace(
        '    actions: [delete]\n    resources: [fleet, organization]',
        '    actions: [delete, update]\n    resources: [fleet, organization]',
      ),
    });
    const { changes } = await diffPolicies(before, after, NOW);
    expect(changes.every((c) => c.change === 'narrowed')).toBe(true);
    expect(new Set(changes.map((c) => `${c.action} ${c.resource}`))).toEqual(
      new Set(['update fleet', 'update organization']),
    );
    expect(changes[0]!.deniedBy[0]).toMatchObject({ rule: 'destructive-actions-need-mfa', effect: 'deny' });
  });

  it('proves that an equivalent rewrite changes nothing', async () => {
    const before = shippedPolicies();
    const devices = before.sources.find((s) => s.path === 'devices.yaml')!.text;
    const rewritten = devices
      .replace('when: resource.fleet == principal.fleet\n', 'when: not (principal.fleet != resource.fleet)\n')
      .replace(
        '      - resource.id == principal.id\n      - resource.fleet == principal.fleet',
        '      - principal.id == resource.id and principal.fleet == resource.fleet',
      );
    expect(rewritten).not.toBe(devices);
    const { changes, unknown } = await diffPolicies(before, shippedPolicies({ 'devices.yaml': rewritten }), NOW);
    expect(changes).toEqual([]);
    expect(unknown).toEqual([]);
  });
});

describe('fleetguard diff', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-diff-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const copy = (name: string) => {
    const dir = join(tmp, name);
    cpSync(POLICIES_DIR, dir, { recursive: true });
    return dir;
  };

  it('exits 1 when access widens, 3 when it only narrows, 0 when unchanged', async () => {
    const leaky = copy('leaky');
    writeFileSync(join(leaky, 'leak.yaml'), LEAK);
    const widened = fleetguard(['diff', 'policies', leaky]);
    expect(widened.status).toBe(1);
    expect(widened.stdout).toMatch(
      /^WIDENED device read release: newly allowed by leak \(leak\.yaml:2\) when resource\.organization == principal\.organization\n {2}example: \{/m,
    );
    expect(widened.stdout.trim().endsWith('access widened')).toBe(true);

    const narrower = copy('narrower');
    const roles = join(narrower, 'fleet-roles.yaml');
    writeFileSync(
      roles,
      readFileSync(roles, 'utf8').replace(
        'resources: [device, release, build_log]\n    when: resource.fleet in principal.observerOf',
        'resources: [device, build_log]\n    when: resource.fleet in principal.observerOf',
      ),
    );
    const narrowed = await fleetguardInProcess(['diff', 'policies', narrower], { cwd: REPO_DIR });
    expect(narrowed.status).toBe(3);
    expect(narrowed.stdout).toContain(
      'NARROWED user read release: no longer allowed; was allowed by observer-read-content',
    );

    expect((await fleetguardInProcess(['diff', 'policies', copy('same')], { cwd: REPO_DIR })).status).toBe(0);
  });

  it('compares git revisions', async () => {
    const r = await fleetguardInProcess(['diff', 'HEAD:policies', 'policies', '--json'], { cwd: REPO_DIR });
    expect([0, 1, 3]).toContain(r.status);
    expect(JSON.parse(r.stdout)).toMatchObject({ changes: expect.any(Array), unknown: [] });
    expect((await fleetguardInProcess(['diff', 'no-such-rev:policies', 'policies'], { cwd: REPO_DIR })).status).toBe(2);
  });

  it('--replay re-decides a decision log with NEW and lists the flips', async () => {
    const server = await startTestServer({ logRequests: true, decisionThreads: 0 });
    const device = { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
    const release = (fleet: string) => ({
      type: 'release',
      id: `r-${fleet}`,
      attributes: { fleet, organization: 'o-1' },
    });
    await server.post('/v1/authorize/batch', {
      requests: [
        { principal: device, action: 'read', resource: release('f-1') },
        { principal: device, action: 'read', resource: release('f-2') },
      ],
    });
    await server.decisionLog.drain();
    const db = join(tmp, 'replay.db');
    cpSync(join(server.dir, 'test.db'), db);
    cpSync(join(server.dir, 'test.db-wal'), `${db}-wal`);
    await server.stop();
    const leaky = copy('leaky-replay');
    writeFileSync(join(leaky, 'leak.yaml'), LEAK);
    const r = await fleetguardInProcess(['diff', 'policies', leaky, '--replay', db], { cwd: REPO_DIR });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('replay: 2 logged decision(s) re-decided, 1 flip(s)');
    expect(r.stdout).toMatch(/FLIP \S+: deny → allow \(device d-1 read release r-f-2\)/);
  });
});
