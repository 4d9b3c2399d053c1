// `fleetguard ci`, in a git repository of its own holding the shipped policies: an unchanged set passes; a
// pull request that widens access (its suite updated, so every test passes) exits 1 and its summary names
// the widened access with the rule and an example, and --allow-widening accepts it; a narrowing passes; a
// replayed log names the decisions that change and what was not replayable; an example pack; and the
// mistakes. The runs whose subject is what ci computes and prints run its main() in this process
// (fleetguardInProcess); real processes give exit 0 (--help) and 2 (a one-line error) here, and exit 1 with
// the widening it names in the README's walkthrough (test/repo/readme-auditors.test.ts).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fleetguard } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { writeDecisionLog } from '../support/decision-log-file.js';
import { REPO_DIR, shippedPolicies } from '../support/policies.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-ci-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const repo = join(tmp, 'repo');
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], {
    cwd: repo,
    encoding: 'utf8',
  });

const MEMBER_READS_FLEETS = `rules:
  - id: member-read-fleets
    description: An organization member may read the organization's fleets.
    effect: allow
    principal: user
    actions: [read]
    resources: [fleet]
    when: resource.organization in principal.memberOf
`;

/** The pull request's suite: the case that said members do not see fleets now says they do. */
function updateSuite(): void {
  const file = join(repo, 'policies/tests/organization-roles.yaml');
  const text = readFileSync(file, 'utf8');
  const before =
    "  - name: a member does not see the organization's fleets or devices\n    principal: member\n    resource: [fleet, device]\n";
  expect(text).toContain(before);
  writeFileSync(
    file,
    text.replace(
      before,
      "  - name: a member reads the organization's fleets\n    principal: member\n    resource: fleet\n    expect: { read: allow }\n\n  - name: a member does not see the organization's devices\n    principal: member\n    resource: device\n",
    ),
  );
}

function reset(): void {
  git('checkout', '-q', '--', 'policies');
  git('clean', '-qfd', 'policies');
}

beforeAll(() => {
  cpSync(join(REPO_DIR, 'policies'), join(repo, 'policies'), { recursive: true });
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'the shipped policies');
});

describe('fleetguard ci', () => {
  it('passes an unchanged set: suites (JUnit), invariants, access unchanged', async () => {
    reset();
    const junit = join(tmp, 'junit.xml');
    const summary = join(tmp, 'unchanged.md');
    const r = await fleetguardInProcess(['ci', '--base', 'HEAD', '--junit', junit, '--summary', summary], {
      cwd: repo,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^validate: ok, 27 rules in 5 policy files, 5 invariants, revision sha256:/);
    expect(r.stdout).toContain('diff against HEAD: 0 widened, 0 narrowed');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('passed');
    expect(readFileSync(junit, 'utf8')).toMatch(/<testsuites[^>]* tests="313"[^>]* failures="0"/);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('## Fleetguard policy check: passed');
    expect(md).toContain('| invariants | 5 proved |');
    expect(md).toContain('| access against `HEAD` | unchanged |');
    expect(md).toContain('| rule coverage | 27/27 rules (100%) |');
  });

  it('fails a pull request that widens access, naming the widened access, its rule and an example', async () => {
    reset();
    writeFileSync(join(repo, 'policies/member-fleets.yaml'), MEMBER_READS_FLEETS);
    updateSuite();
    const summary = join(tmp, 'widened.md');
    const r = await fleetguardInProcess(['ci', '--base', 'HEAD', '--summary', summary], { cwd: repo });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^test: 313\/313 cases passed/m);
    expect(r.stdout).toContain(
      'WIDENED user read fleet: newly allowed by member-read-fleets (member-fleets.yaml:2) when resource.organization in principal.memberOf',
    );
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('FAILED: access widened (--allow-widening accepts it)');
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('## Fleetguard policy check: FAILED');
    expect(md).toContain('| access against `HEAD` | **1 widened**, 0 narrowed |');
    const widened = md.split('### Widened: newly allowed\n')[1]!.split('\n### ')[0]!;
    expect(widened).toContain(
      '- **user** `read` on **fleet**: newly allowed by `member-read-fleets` (member-fleets.yaml:2) when `resource.organization in principal.memberOf`',
    );
    // The example is a request the new policies allow and the base denied.
    const example = JSON.parse(widened.split('```json\n')[1]!.split('```')[0]!) as {
      principal: { attributes: { memberOf: string[] } };
      resource: { type: string; attributes: { organization: string } };
    };
    expect(example.resource.type).toBe('fleet');
    expect(example.principal.attributes.memberOf).toContain(example.resource.attributes.organization);

    const allowed = await fleetguardInProcess(['ci', '--base', 'HEAD', '--allow-widening'], { cwd: repo });
    expect(allowed.status).toBe(0);
    expect(allowed.stdout.trimEnd().split('\n').at(-1)).toBe('passed (access widened, allowed)');
  });

  it('passes a narrowing, and says so', async () => {
    reset();
    const roles = join(repo, 'policies/fleet-roles.yaml');
    writeFileSync(
      roles,
      readFileSync(roles, 'utf8').replace(
        'resources: [device, release, build_log]\n    when: resource.fleet in principal.observerOf',
        'resources: [device, build_log]\n    when: resource.fleet in principal.observerOf',
      ),
    );
    // The pull request drops the suite whose cases said observers read releases.
    rmSync(join(repo, 'policies/tests/fleet-roles.yaml'));
    const summary = join(tmp, 'narrowed.md');
    const r = await fleetguardInProcess(['ci', '--base', 'HEAD', '--summary', summary], { cwd: repo });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('diff against HEAD: 0 widened, 1 narrowed');
    expect(r.stdout).toContain('NARROWED user read release: no longer allowed; was allowed by observer-read-content');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('passed (access narrowed)');
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('### Narrowed: no longer allowed');
    expect(md).toContain('### Rules no test case exercises');
  });

  it('replays a decision log: the decisions that change, and how many could be replayed', async () => {
    reset();
    const set = shippedPolicies();
    const member = { type: 'user', id: 'u-member', attributes: { memberOf: ['o-1'] } };
    const fleet = { type: 'fleet', id: 'f-1', attributes: { organization: 'o-1' } };
    const org = { type: 'organization', id: 'o-1' };
    const db = join(tmp, 'replay.db');
    const t = Date.now() - 3_600_000;
    // Two decisions logged without their request, then three with it.
    await writeDecisionLog(
      db,
      set,
      [
        { request: { principal: member, action: 'read', resource: fleet }, time: t },
        { request: { principal: member, action: 'read', resource: org }, time: t + 1 },
      ],
      { logRequests: false },
    );
    await writeDecisionLog(
      db,
      set,
      [
        { request: { principal: member, action: 'read', resource: fleet }, time: t + 2 },
        { request: { principal: member, action: 'read', resource: org }, time: t + 3 },
        { request: { principal: member, action: 'update', resource: fleet }, time: t + 4 },
      ],
      { logRequests: true },
    );
    writeFileSync(join(repo, 'policies/member-fleets.yaml'), MEMBER_READS_FLEETS);
    updateSuite();
    const summary = join(tmp, 'replay.md');
    const r = await fleetguardInProcess(['ci', '--replay', db, '--summary', summary], { cwd: repo });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('replay: 3 of 5 logged decision(s) replayable (logged with --log-requests), 1 change');
    expect(r.stdout).toMatch(/ {2}FLIP \S+: deny → allow \(user u-member read fleet f-1\)/);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('| access | not compared (no --base) |');
    expect(md).toContain('3 of 5 logged decisions replayable');
    expect(md).toMatch(/\| log-\d+ \| deny \| \*\*allow\*\* \| user u-member \| read \| fleet f-1 \|/);
    expect(md).toContain('2 logged decision(s) could not be replayed');
  });

  it('docs/ci-workflow.example.yml runs ci with options ci has', () => {
    const workflow = parse(readFileSync(join(REPO_DIR, 'docs/ci-workflow.example.yml'), 'utf8')) as {
      jobs: Record<string, { steps: { run?: string }[] }>;
    };
    const runs = Object.values(workflow.jobs).flatMap((j) => j.steps.flatMap((s) => (s.run ? [s.run] : [])));
    const ci = runs.find((r) => r.startsWith('npx fleetguard ci '))!;
    expect(ci).toBeDefined();
    const { status, stdout: help } = fleetguard(['ci', '--help']);
    expect(status).toBe(0);
    const flags = [...ci.matchAll(/--[a-z-]+/g)].map((m) => m[0]);
    expect(flags).toEqual(expect.arrayContaining(['--base', '--junit', '--summary', '--allow-widening']));
    for (const flag of flags) expect(help, flag).toContain(`${flag} `);
  });

  it('runs on an example pack', async () => {
    const r = await fleetguardInProcess(['ci', '--policies', 'examples/authzen-cert'], { cwd: REPO_DIR });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^verify: PROVED /m);
  });

  it('says what is wrong in one line, exit 2; policies that do not compile are in the summary too', async () => {
    reset();
    const rev = fleetguard(['ci', '--base', 'no-such-rev'], { cwd: repo });
    expect(rev.status).toBe(2);
    expect(rev.stdout).toBe('');
    expect(rev.stderr).toMatch(/^fleetguard ci: no-such-rev:policies: not in git \(.*\)\n$/);
    const dir = await fleetguardInProcess(['ci', '--policies', join(tmp, 'nowhere')]);
    expect(dir.status).toBe(2);
    expect(dir.stderr).toBe(`fleetguard ci: ${join(tmp, 'nowhere')}: no such policy directory\n`);
    writeFileSync(join(repo, 'policies/broken.yaml'), 'rules:\n  - id: broken\n    effect: alow\n');
    const summary = join(tmp, 'broken.md');
    const broken = await fleetguardInProcess(['ci', '--summary', summary], { cwd: repo });
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/^broken\.yaml:\d+:\d+: /);
    expect(existsSync(summary)).toBe(true);
    expect(readFileSync(summary, 'utf8')).toMatch(
      /FAILED[\s\S]*the policies do not compile[\s\S]*broken\.yaml:\d+:\d+/,
    );
  });
});
