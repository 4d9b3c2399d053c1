// Shadow evaluation (issue 19 item 1) on a listening sidecar: over generated requests, sent one at a time and
// in batches (decided on decision threads and on the request thread), the disagreements recorded are exactly
// the requests on which the live and the candidate policy sets decide differently, in the right direction,
// with both sides' rules; the answers are the live set's throughout; a candidate that does not compile is
// refused, at start and through the admin API, and changes nothing.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { authorize, type AuthorizeRequest, type PolicySet } from '../../engine/index.js';
import { StartupError } from '../../server/main.js';
import { depth } from '../support/depth.js';
import { deviceArb, NOW, requestArb, userArb } from '../support/fleet-arbitraries.js';
import { compileOrThrow, POLICIES_DIR } from '../support/policies.js';
import { readPolicySources } from '../../engine/index.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { until } from '../support/wait.js';
import { fleetguardAsync } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of the shipped policies with one file's text changed by `edit`. */
function candidate(file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-shadow-'));
  dirs.push(dir);
  cpSync(POLICIES_DIR, dir, { recursive: true });
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  expect(after).not.toBe(before);
  writeFileSync(path, after);
  return dir;
}

/** Observers may also read fleet variables: one rule widened. */
const widening = () =>
  candidate('fleet-roles.yaml', (t) =>
    t.replace(
      'resources: [device, release, build_log]\n    when: resource.fleet in principal.observerOf',
      'resources: [device, release, build_log, fleet_variable]\n    when: resource.fleet in principal.observerOf',
    ),
  );
/** Devices may no longer read images: one rule narrowed. */
const narrowing = () =>
  candidate('devices.yaml', (t) =>
    t.replace(
      'resources: [fleet_variable, release, build_log, image]',
      'resources: [fleet_variable, release, build_log]',
    ),
  );

const setOf = (dir: string): PolicySet => compileOrThrow(readPolicySources(dir));
const live = setOf(POLICIES_DIR);

/** Every request carries its time, so the local engines decide at the sidecar's instant. */
const timed = requestArb().map((r) => ({ ...r, context: { time: new Date(NOW).toISOString(), ...r.context } }));

/** Requests on what a candidate changed (read a fleet variable, read an image) among requests of every kind. */
const on = (principal: typeof userArb, resourceType: string) =>
  fc
    .record({ principal, fleet: fc.constantFrom('f-0', 'f-1', 'f-2'), org: fc.constantFrom('o-0', 'o-1') })
    .map(({ principal, fleet, org }) => ({
      principal,
      action: 'read',
      resource: { type: resourceType, id: 'x-1', attributes: { fleet, organization: org } },
      context: { time: new Date(NOW).toISOString() },
    }));
const mixed = (focus: fc.Arbitrary<AuthorizeRequest>) =>
  fc.array(fc.oneof({ weight: 3, arbitrary: timed }, { weight: 1, arbitrary: focus }), { minLength: 1, maxLength: 40 });

/** What the two sets say about `r`: the direction of their disagreement, or undefined. */
function expected(candidateSet: PolicySet, r: AuthorizeRequest): 'widened' | 'narrowed' | undefined {
  const now = Date.parse(r.context!.time as string);
  const a = authorize(live, r, now, 'x').allowed;
  const b = authorize(candidateSet, r, now, 'x').allowed;
  return a === b ? undefined : b ? 'widened' : 'narrowed';
}

/** A row of the `shadow_disagreements` view, as the sqlite3 command would read it. */
interface Row {
  decision_id: string;
  direction: string;
  principal_type: string;
  action: string;
  resource_type: string;
  data: string;
}

/** Sends the requests (singles, one batch), checks every answer is the live set's, returns decision id → request. */
async function send(server: TestServer, requests: AuthorizeRequest[]): Promise<Map<string, AuthorizeRequest>> {
  const ids = new Map<string, AuthorizeRequest>();
  const half = Math.ceil(requests.length / 2);
  const singles = await Promise.all(requests.slice(0, half).map((r) => server.post('/v1/authorize', r)));
  const batch = await server.post('/v1/authorize/batch', { requests: requests.slice(half) });
  expect(batch.status).toBe(200);
  const answers = [...singles.map((s) => s.body), ...batch.body.results];
  answers.forEach((answer, i) => {
    const r = requests[i]!;
    const want = authorize(live, r, Date.parse(r.context!.time as string), answer.decisionId);
    expect(answer.allowed, JSON.stringify(r)).toBe(want.allowed);
    expect(answer.matched).toEqual(want.matched);
    expect(answer.policyRevision).toBe(live.revision);
    ids.set(answer.decisionId, r);
  });
  return ids;
}

/** The recorded disagreements among `ids` equal, one for one, the requests on which the two sets differ. */
async function checkReported(
  server: TestServer,
  candidateSet: PolicySet,
  ids: Map<string, AuthorizeRequest>,
): Promise<number> {
  await server.shadow.drain();
  const rows = server.db
    .prepare('SELECT decision_id, direction, principal_type, action, resource_type, data FROM shadow_disagreements')
    .all() as Row[];
  const reported = new Map(rows.filter((row) => ids.has(row.decision_id)).map((row) => [row.decision_id, row]));
  let disagreements = 0;
  for (const [id, r] of ids) {
    const want = expected(candidateSet, r);
    const row = reported.get(id);
    expect(row?.direction, JSON.stringify(r)).toBe(want);
    if (!row) continue;
    disagreements++;
    const now = Date.parse(r.context!.time as string);
    expect([row.principal_type, row.action, row.resource_type]).toEqual([r.principal.type, r.action, r.resource.type]);
    const data = JSON.parse(row.data);
    expect(data).toMatchObject({
      decisionId: id,
      principal: r.principal,
      action: r.action,
      resource: r.resource,
      context: r.context,
      liveRevision: live.revision,
      candidateRevision: candidateSet.revision,
    });
    expect(data.live.matched).toEqual(authorize(live, r, now, id).matched);
    expect(data.candidate.matched).toEqual(authorize(candidateSet, r, now, id).matched);
    expect(data.live.outcome).toBe(want === 'widened' ? 'deny' : 'allow');
    expect(data.candidate.outcome).toBe(want === 'widened' ? 'allow' : 'deny');
  }
  expect(reported.size).toBe(disagreements);
  return disagreements;
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const metric = async (server: TestServer, direction: string, type: string) => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(
    `^fleetguard_shadow_disagreements_total\\{direction="${direction}",principal_type="${type}"\\} (\\d+)$`,
    'm',
  ).exec(text);
  return m ? Number(m[1]) : 0;
};

// An observer of f-1 reading a variable of f-1: widened unless another role already allows it.
const observerReadsVariable: AuthorizeRequest = {
  principal: {
    type: 'user',
    id: 'u-9',
    attributes: { adminOf: [], memberOf: [], developerOf: [], operatorOf: [], observerOf: ['f-1'] },
  },
  action: 'read',
  resource: { type: 'fleet_variable', id: 'v-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
  context: { time: new Date(NOW).toISOString() },
};
const deviceReadsImage: AuthorizeRequest = {
  principal: { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
  action: 'read',
  resource: { type: 'image', id: 'i-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
  context: { time: new Date(NOW).toISOString() },
};

describe('shadow evaluation', () => {
  const wideRuns = depth(6, 150);
  const narrowRuns = depth(4, 100);
  // Two threads under test:deep (their disagreements add up); one in npm test.
  for (const decisionThreads of [depth(1, 2), 0]) {
    it(`reports exactly the requests a widening, then a narrowing, candidate decides otherwise (decision threads: ${decisionThreads})`, async () => {
      const widened = widening();
      const server = await startTestServer({ shadowPolicies: widened, decisionThreads });
      try {
        if (decisionThreads > 0)
          await until('decision threads holding the policies', () => server.pool!.status.loaded === decisionThreads);
        const wideSet = setOf(widened);
        let total = 0;
        await fc.assert(
          fc.asyncProperty(mixed(on(userArb, 'fleet_variable')), async (requests) => {
            total += await checkReported(server, wideSet, await send(server, [observerReadsVariable, ...requests]));
          }),
          { numRuns: wideRuns, seed: 19 },
        );
        expect(total).toBeGreaterThanOrEqual(wideRuns); // each run sends observerReadsVariable, a widening
        expect(await metric(server, 'widened', 'user')).toBe(total);
        expect(await metric(server, 'narrowed', 'user')).toBe(0);

        // The admin API switches to a narrowing candidate: from now on only narrowings.
        const narrowed = narrowing();
        const res = await fetch(`${server.url}/v1/admin/shadow`, {
          method: 'PUT',
          headers: { ...admin, 'content-type': 'application/json' },
          body: JSON.stringify({ policies: narrowed }),
        });
        expect(res.status).toBe(200);
        const narrowSet = setOf(narrowed);
        expect((await res.json()).revision).toBe(narrowSet.revision);
        let narrowedTotal = 0;
        await fc.assert(
          fc.asyncProperty(mixed(on(deviceArb, 'image')), async (requests) => {
            narrowedTotal += await checkReported(
              server,
              narrowSet,
              await send(server, [deviceReadsImage, ...requests]),
            );
          }),
          { numRuns: narrowRuns, seed: 20 },
        );
        expect(await metric(server, 'narrowed', 'device')).toBe(narrowedTotal);

        const summary = await (await fetch(`${server.url}/v1/admin/shadow?examples=1`, { headers: admin })).json();
        expect(summary.candidate).toMatchObject({ policies: narrowed, revision: narrowSet.revision });
        expect(summary).toMatchObject({ total: total + narrowedTotal, widened: total, narrowed: narrowedTotal });
        expect(summary.groups).toContainEqual(
          expect.objectContaining({
            candidateRevision: wideSet.revision,
            direction: 'widened',
            principalType: 'user',
            action: 'read',
            resourceType: 'fleet_variable',
            examples: [expect.objectContaining({ live: expect.objectContaining({ outcome: 'deny' }) })],
          }),
        );
        expect(summary.byPrincipalType.device).toEqual({ widened: 0, narrowed: narrowedTotal });
        expect(summary.candidates.map((c: { revision: string }) => c.revision)).toEqual([
          wideSet.revision,
          narrowSet.revision,
        ]);
      } finally {
        await server.stop();
      }
    });
  }

  it('reloads the candidate when its files change, on the request thread and the decision threads; a broken edit keeps the last good one', async () => {
    const dir = candidate('devices.yaml', (t) => `${t}\n# the same rules\n`);
    const server = await startTestServer({ shadowPolicies: dir, watch: true, decisionThreads: 2 });
    try {
      await until('decision threads holding the policies', () => server.pool!.status.loaded === 2);
      const roles = join(dir, 'fleet-roles.yaml');
      writeFileSync(
        roles,
        readFileSync(roles, 'utf8').replace(
          'resources: [device, release, build_log]\n    when: resource.fleet in principal.observerOf',
          'resources: [device, release, build_log, fleet_variable]\n    when: resource.fleet in principal.observerOf',
        ),
      );
      const widened = setOf(dir);
      await until('the widened candidate', () => server.shadow.status?.revision === widened.revision);
      // A single request and a batch (compared on a decision thread): both see the new candidate.
      const twice = [observerReadsVariable, observerReadsVariable];
      expect(await checkReported(server, widened, await send(server, twice))).toBe(2);

      writeFileSync(join(dir, 'broken.yaml'), 'rules:\n  - id: x\n    effect: allow\n');
      await until('the failed reload', () => server.shadow.status?.lastReload?.ok === false);
      expect(server.shadow.status!.revision).toBe(widened.revision);
      expect(server.shadow.status!.lastReload!.errors![0]).toMatch(/^broken\.yaml:\d+:\d+: /);
      expect(await checkReported(server, widened, await send(server, twice))).toBe(2);
    } finally {
      await server.stop();
    }
  });

  it("refuses a candidate that does not compile, at start and through the admin API, and the answers stay the live set's", async () => {
    const broken = candidate('devices.yaml', (t) =>
      t.replace('when: resource.fleet == principal.fleet', 'when: resource.fleeet == principal.fleet'),
    );
    await expect(startTestServer({ shadowPolicies: broken })).rejects.toThrow(StartupError);
    await expect(startTestServer({ shadowPolicies: broken })).rejects.toThrow(
      /shadow policies .* do not compile:\ndevices\.yaml:\d+:\d+: .*`fleeet`/,
    );

    const widened = widening();
    const server = await startTestServer({ shadowPolicies: widened });
    try {
      const before = server.shadow.status!.revision;
      const res = await fetch(`${server.url}/v1/admin/shadow`, {
        method: 'PUT',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ policies: broken }),
      });
      expect(res.status).toBe(422);
      const body = await res.json();
      expect(body.ok).toBe(false);
      expect(body.errors[0]).toMatch(/^devices\.yaml:\d+:\d+: .*`fleeet`/);
      expect(server.shadow.status!.revision).toBe(before); // the previous candidate stays
      const requests = fc.sample(timed, { numRuns: 50, seed: 7 });
      await send(server, [observerReadsVariable, ...requests]); // answers checked against the live set
      await checkReported(server, setOf(widened), new Map()); // drains

      // Without a token: 401; stopping keeps what was recorded.
      expect((await fetch(`${server.url}/v1/admin/shadow`)).status).toBe(401);
      expect((await fetch(`${server.url}/v1/admin/shadow`, { method: 'DELETE', headers: admin })).status).toBe(204);
      expect(server.shadow.active).toBe(false);
      const summary = await (await fetch(`${server.url}/v1/admin/shadow`, { headers: admin })).json();
      expect(summary.candidate).toBeNull();
      expect(summary.widened).toBeGreaterThanOrEqual(1);

      // The same summary from the database, after the fact: what the command prints, from its main() in this
      // process; what only a process shows (exit 2 with one line on stderr) from a real one.
      const db = join(server.dir, 'test.db');
      const { candidate: _c, recording: _r, ...fromApi } = summary;
      const json = await fleetguardInProcess(['shadow-report', '--db', db, '--json']);
      expect(json.status, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual(fromApi);
      const text = await fleetguardInProcess(['shadow-report', '--db', db, '--since', '1d', '--examples', '1']);
      expect(text.status, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^\d+ disagreement\(s\) since \S+: \d+ widened .*, 0 narrowed$/m);
      expect(text.stdout).toMatch(/^widened +user +read +fleet_variable +\d+ /m);
      expect(text.stdout).toContain('live deny (no rule allows this request), candidate allow (observer-read-content)');
      const future = await fleetguardInProcess(['shadow-report', '--db', db, '--since', '2999-01-01T00:00:00Z']);
      expect(future.stdout).toMatch(/^0 disagreement\(s\) since 2999-01-01T00:00:00.000Z: 0 widened/);
      const bad = await fleetguardAsync(['shadow-report', '--db', db, '--since', 'yesterday']);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/^fleetguard shadow-report: --since takes an RFC 3339 time .*\n$/);
      const missing = await fleetguardInProcess(['shadow-report', '--db', join(server.dir, 'none.db')]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/^fleetguard shadow-report: no database at .*none\.db/);
    } finally {
      await server.stop();
    }
  });
});
