// `fleetguard validate | test | check` as users and CI run them: exit codes, output, JUnit, coverage. Each
// command's exit statuses, stdin and output into a pipe are checked on real processes; the runs whose
// subject is what the command computes and prints run its main() in this process (fleetguardInProcess).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSuiteSources } from '../../engine/index.js';
import { runSuites } from '../../engine/testing/run-suites.js';
import { fleetguard } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { NOW } from '../support/fleet-arbitraries.js';
import { POLICIES_DIR, REPO_DIR, shippedPolicies } from '../support/policies.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function copyPolicies(name: string): string {
  const dir = join(tmp, name);
  cpSync(POLICIES_DIR, dir, { recursive: true });
  return dir;
}

describe('fleetguard validate', () => {
  it('accepts the shipped policies', async () => {
    const r = await fleetguardInProcess(['validate', POLICIES_DIR]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok: 27 rules in 5 policy files, 5 invariants, revision sha256:[0-9a-f]{16}/);
  });

  it('prints every error as file:line:col and exits 2', () => {
    const dir = copyPolicies('typo');
    const devices = join(dir, 'devices.yaml');
    writeFileSync(
      devices,
      readFileSync(devices, 'utf8')
        .replace('when: resource.id == principal.fleet', 'when: resource.id == principal.fleeet')
        .replace(
          'actions: [read]\n    resources: [device_variable]',
          'actions: [raed]\n    resources: [device_variable]',
        ),
    );
    const r = fleetguard(['validate', dir]);
    expect(r.status).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => /^\S+:\d+:\d+: /.test(l));
    expect(lines).toHaveLength(2);
    expect(lines).toEqual([
      'devices.yaml:23:26: principal type `device` has no attribute `fleeet` [unknown-attribute]',
      'devices.yaml:29:15: unknown action `raed` [unknown-action]',
    ]);
    expect(r.stderr).toContain('hint: did you mean `fleet`?');
  });

  it('exits 2 for a directory that does not exist', async () => {
    expect((await fleetguardInProcess(['validate', join(tmp, 'nope')])).status).toBe(2);
  });
});

describe('fleetguard test', () => {
  it('passes the shipped suites with full rule coverage and writes JUnit XML', () => {
    const junit = join(tmp, 'junit.xml');
    const r = fleetguard(['test', 'policies', '--junit', junit, '--min-coverage', '100']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/(\d+)\/\1 cases passed in 5 suite\(s\)/);
    expect(r.stdout).toContain('rule coverage: 27/27 rules (100%)');
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuites name="fleetguard" tests="\d+" failures="0">/);
    expect(xml).toContain('<testsuite name="provisioning keys"');
  });

  it('fails on a wrong expectation, naming the case, and records it in JUnit', async () => {
    const dir = copyPolicies('failing');
    const suite = join(dir, 'tests/devices.yaml');
    writeFileSync(
      suite,
      readFileSync(suite, 'utf8').replace(
        'expect: { read: allow, update: allow, create: deny',
        'expect: { read: allow, update: deny, create: deny',
      ),
    );
    const junit = join(tmp, 'failing.xml');
    const r = await fleetguardInProcess(['test', dir, '--junit', junit]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL tests\/devices\.yaml:\d+: a device reads and updates itself, and nothing more \[device-a1 update own-device\]: expected deny, got allow by device-read-update-itself/,
    );
    expect(readFileSync(junit, 'utf8')).toMatch(/failures="1"/);
  });

  it('reports rules no test exercised and enforces --min-coverage', async () => {
    const dir = copyPolicies('coverage');
    rmSync(join(dir, 'tests/support-and-services.yaml'));
    const ok = await fleetguardInProcess(['test', dir]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('not exercised: support-read-during-grant (support-and-services.yaml:');
    expect(ok.stdout).toContain('rule coverage: 23/27 rules (85.2%)');
    const low = await fleetguardInProcess(['test', dir, '--min-coverage', '90']);
    expect(low.status).toBe(1);
    expect(low.stdout).toContain('below --min-coverage 90%');
  });

  it('rejects a suite that refers to something it does not define (exit 2)', async () => {
    const dir = copyPolicies('bad-suite');
    const suite = join(dir, 'tests/devices.yaml');
    writeFileSync(suite, readFileSync(suite, 'utf8').replace('resource: own-fleet\n', 'resource: own-flet\n'));
    const r = await fleetguardInProcess(['test', dir]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(
      /tests\/devices\.yaml:\d+:\d+: no resource named `own-flet`.*\n {2}hint: did you mean `own-fleet`\?/,
    );
  });

  it('fails a case that breaks a declared invariant even when the expectation says allow', async () => {
    const dir = copyPolicies('leaky');
    writeFileSync(
      join(dir, 'leak.yaml'),
      'rules:\n  - id: leak\n    description: leak\n    effect: allow\n    principal: device\n    actions: [read]\n    resources: [release]\n',
    );
    const suite = join(dir, 'tests/devices.yaml');
    writeFileSync(
      suite,
      readFileSync(suite, 'utf8').replace(
        / {2}- name: another fleet's variables[\s\S]*?expect: \{ read: deny \}\n/,
        '',
      ),
    );
    writeFileSync(
      join(dir, 'tests/leak.yaml'),
      `name: leak
principals: { d: { type: device, id: d-1, attributes: { fleet: f-a, organization: o } } }
resources: { r: { type: release, id: r-1, attributes: { fleet: f-b, organization: o } } }
tests:
  - name: the leak is allowed
    principal: d
    resource: r
    expect: { read: allow }
`,
    );
    const r = await fleetguardInProcess(['test', dir]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('breaks invariant device-fleet-isolation');
  });
});

describe('fleetguard check', () => {
  it('answers every case of the shipped suites exactly as they expect (batch file)', async () => {
    const set = shippedPolicies();
    const run = runSuites(set, readSuiteSources(POLICIES_DIR), NOW);
    expect(run.cases.length).toBeGreaterThan(300);
    // Suites fix `now`; check uses the real clock, so each request carries its time in the context.
    const requests = run.cases.map((c) => ({
      ...c.request,
      context: { time: new Date(c.now).toISOString(), ...c.request.context },
    }));
    const file = join(tmp, 'requests.json');
    writeFileSync(file, JSON.stringify({ requests }));
    const r = await fleetguardInProcess(['check', '--policies', POLICIES_DIR, '--request', file]);
    expect(r.status).toBe(0);
    const { results } = JSON.parse(r.stdout) as { results: { decision: string; policyRevision: string }[] };
    expect(results.map((d) => d.decision)).toEqual(run.cases.map((c) => c.expected));
    expect(new Set(results.map((d) => d.policyRevision))).toEqual(new Set([set.revision]));
  });

  it('reads one request from stdin and prints the decision JSON of /v1/authorize', () => {
    const req = {
      principal: { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
      action: 'read',
      resource: { type: 'fleet_variable', id: 'v-1', attributes: { fleet: 'f-2', organization: 'o-1' } },
    };
    const r = fleetguard(['check', '--policies', 'policies', '--request', '-'], { input: JSON.stringify(req) });
    expect(r.status).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({ decision: 'deny', allowed: false, matched: [], reason: 'no rule allows this request' });
    expect(d.decisionId).toMatch(/^[0-9a-f]{16}-\d+$/);
  });

  it('explains for people: the matched rule and why each other rule did not apply', async () => {
    const req = {
      principal: { type: 'user', id: 'u-1', attributes: { adminOf: ['o-1'] } },
      action: 'delete',
      resource: { type: 'fleet', id: 'f-1', attributes: { organization: 'o-1' } },
      context: { mfa: false },
    };
    const file = join(tmp, 'explain.json');
    writeFileSync(file, JSON.stringify(req));
    const r = await fleetguardInProcess(['check', '--policies', POLICIES_DIR, '--request', file, '--explain']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('DENY: user u-1 → delete → fleet f-1');
    expect(r.stdout).toMatch(/deny {2}destructive-actions-need-mfa \(organization-roles\.yaml:\d+\): MATCHED/);
    expect(r.stdout).toMatch(/allow org-admin-resources \(organization-roles\.yaml:\d+\): MATCHED/);
  });

  it('prints an answer of megabytes whole into a pipe before it exits', () => {
    // Output to a pipe is written asynchronously: a process that exits at once cuts it at the pipe's buffer.
    const request = {
      principal: { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
      action: 'read',
      resource: { type: 'release', id: 'r-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
    };
    const r = fleetguard(['check', '--policies', POLICIES_DIR, '--request', '-'], {
      input: JSON.stringify({ requests: Array(20_000).fill(request) }),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1_000_000);
    expect(JSON.parse(r.stdout).results).toHaveLength(20_000);
  });

  it('rejects a malformed request with exit 2', () => {
    const r = fleetguard(['check', '--policies', 'policies', '--request', '-'], { input: '{"principal": "alice"}' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid request: principal');
  });
});

describe('the example packs', () => {
  for (const pack of ['authzen-todo', 'authzen-gateway', 'authzen-search', 'authzen-cert']) {
    it(`${pack} validates and passes its own suite with full rule coverage`, async () => {
      const r = await fleetguardInProcess(['test', `examples/${pack}`, '--min-coverage', '100'], { cwd: REPO_DIR });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/rule coverage: (\d+)\/\1 rules \(100%\)/);
    });
  }
});
