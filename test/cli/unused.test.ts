// `fleetguard unused` on decision logs written by the sidecar's own sink: a log of the shipped suites'
// traffic in which exactly one rule never matched, the window, the store's principals, --json, and its
// mistakes. A real process prints the text report (exit 0, nothing on stderr); the other runs run the
// command's main() in this process (fleetguardInProcess).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEntities } from '../../engine/entities/index.js';
import { authorize } from '../../engine/index.js';
import { openSqliteStores } from '../../server/store/open-stores.js';
import { fleetguard } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { writeDecisionLog } from '../support/decision-log-file.js';
import { REPO_DIR, shippedPolicies } from '../support/policies.js';
import { suiteRequests } from '../support/suite-requests.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-unused-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const DAY = 86_400_000;
const set = shippedPolicies();
const DROPPED = 'developer-ssh-reboot';
const db = join(tmp, 'log.db');

beforeAll(async () => {
  const now = Date.now();
  // The suites' requests over the last ten days, without those the dropped rule would decide; and one
  // request of it 40 days ago, outside the default window of 30 days.
  const requests = suiteRequests(join(REPO_DIR, 'policies'));
  const old = requests.find((r) => authorize(set, r, now, 'x').matched.some((m) => m.rule === DROPPED))!;
  const entries = [
    { request: old, time: now - 40 * DAY },
    ...requests
      .map((request, i) => ({ request, time: now - 10 * DAY + i * 1000 }))
      .filter(({ request, time }) => !authorize(set, request, time, 'x').matched.some((m) => m.rule === DROPPED)),
  ];
  await writeDecisionLog(db, set, entries, { logRequests: true });
  // A user the store knows, with a role, who decided nothing.
  const stores = openSqliteStores({ db });
  const { entities } = checkEntities(set.schema, [
    { type: 'user', id: 'u-idle', attributes: { memberOf: ['o-idle'] } },
  ]);
  await stores.entities.upsert(entities!);
  await stores.close();
});

describe('fleetguard unused', () => {
  it('names exactly the rule that never matched in the window, as text', () => {
    const r = fleetguard(['unused', '--policies', 'policies', '--db', db]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const section = r.stdout.split('\nunused rules ')[1]!.split('\n\n')[0]!;
    expect(section.split('\n')[0]).toBe(`(1 of ${set.rules.length}):`);
    const rule = set.rules.find((x) => x.id === DROPPED)!;
    expect(section).toContain(`  ${DROPPED}  fleet-roles.yaml:${rule.at.line}  allow: never allowed anything`);
    expect(r.stdout).toMatch(
      /principals holding a grant they never used \(\d+\):\n(.*\n)* {2}user u-idle \(store, 0 decision\(s\)\): 1\/1 unused: read organization/,
    );
  });

  it('as JSON; a window reaching back 60 days finds the rule used', async () => {
    const r = await fleetguardInProcess(['unused', '--policies', 'policies', '--db', db, '--json'], { cwd: REPO_DIR });
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as {
      unusedRules: string[];
      decisions: number;
      roles: { principal: string; role: string | null; remove: string[] }[];
    };
    expect(report.unusedRules).toEqual([DROPPED]);
    expect(report.roles.find((g) => g.principal === 'user' && g.role === 'developerOf')!.remove).toEqual([DROPPED]);
    const wide = JSON.parse(
      (
        await fleetguardInProcess(['unused', '--policies', 'policies', '--db', db, '--json', '--since', '60d'], {
          cwd: REPO_DIR,
        })
      ).stdout,
    ) as {
      unusedRules: string[];
      decisions: number;
    };
    expect(wide.unusedRules).toEqual([]);
    expect(wide.decisions).toBe(report.decisions + 1);
  });

  it('refuses a missing database and a bad --since with one line, exit 2; answers --help', async () => {
    const missing = await fleetguardInProcess(['unused', '--db', join(tmp, 'nope.db')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^fleetguard unused: no database at .*nope\.db \(--db FILE or FLEETGUARD_DB\)\n$/);
    const since = await fleetguardInProcess(['unused', '--db', db, '--since', 'yesterday']);
    expect(since.status).toBe(2);
    expect(since.stderr).toBe(
      'fleetguard unused: --since takes a duration such as 30d or an RFC 3339 time, not "yesterday"\n',
    );
    expect((await fleetguardInProcess(['unused', '--help'])).status).toBe(0);
  });
});
