// Many sidecars over one PostgreSQL, as real processes: every decision any of them makes reaches the
// central log exactly once, through an outage of the store in the middle of the load (2 s in `npm test`,
// 5 s under test:deep; either spans several of the shipper's doubling retries); `fleetguard audit --store`
// reads it; and a policy rollout is seen converging in `fleetguard sidecars` and `GET /v1/admin/sidecars`.
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRequests } from '../../bench/workload.js';
import { createPool, type Pool } from '../../server/store/postgres/connection.js';
import { fleetguardAsync } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { depth } from '../support/depth.js';
import { POLICIES_DIR } from '../support/policies.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { spawnSidecar, type SidecarProcess } from '../support/process.js';
import { ADMIN_TOKEN } from '../support/server.js';
import { startTcpProxy, throughProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/wait.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const CUT_MS = depth(2_000, 5_000);
// Sidecar processes on the store: two in `npm test` (each costs a process start), three under test:deep.
const SIDECARS = depth(2, 3);

describe.skipIf(!postgresAvailable)(`${SIDECARS} sidecars on one PostgreSQL`, () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let pool: Pool;
  let dir: string;
  let sidecars: SidecarProcess[] = [];
  let storeUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase('many_sidecars');
    proxy = await startTcpProxy(Number(new URL(database.url).port || 5432));
    storeUrl = throughProxy(database.url, proxy);
    pool = createPool(database.url);
    dir = mkdtempSync(join(tmpdir(), 'fleetguard-many-'));
    sidecars = await Promise.all(
      Array.from({ length: SIDECARS }, (_, i) => {
        const policies = join(dir, `policies-${i}`);
        cpSync(POLICIES_DIR, policies, { recursive: true });
        return spawnSidecar([
          '--store',
          storeUrl,
          '--db',
          join(dir, `sidecar-${i}.db`),
          '--policies',
          policies,
          '--admin-token',
          ADMIN_TOKEN,
          '--no-watch',
          // Not a test of decision threads: each would load the policies once more at start.
          '--decision-threads',
          '0',
        ]);
      }),
    );
  });
  afterAll(async () => {
    for (const s of sidecars) s.child.kill('SIGTERM');
    await Promise.all(sidecars.map((s) => s.exited));
    await pool?.end();
    await proxy?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Batches of 100 decisions with inline principals, sent round the sidecars; the decision ids answered. */
  async function load(batches: number, seed: number): Promise<string[]> {
    const requests = generateRequests(100 * batches, seed);
    const ids: string[] = [];
    await Promise.all(
      sidecars.map(async (s, k) => {
        for (let b = k; b < batches; b += sidecars.length) {
          const res = await fetch(`${s.url}/v1/authorize/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ requests: requests.slice(b * 100, b * 100 + 100) }),
          });
          expect(res.status).toBe(200);
          const { results } = (await res.json()) as { results: { decisionId: string }[] };
          ids.push(...results.map((r) => r.decisionId));
        }
      }),
    );
    return ids;
  }

  const backlog = async (s: SidecarProcess) => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    return Number(/^fleetguard_decision_log_ship_backlog (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  };

  it(`ships every decision of ${SIDECARS} sidecars under load exactly once, through a ${CUT_MS / 1000} s cut of the store`, async () => {
    const rounds = depth(3, 60);
    const made: string[] = [];
    made.push(...(await load(rounds, 1)));
    proxy.cut();
    const cutAt = Date.now();
    // Inline principals are decided while the store is out; the decisions wait in each local log.
    while (Date.now() - cutAt < CUT_MS) made.push(...(await load(rounds, 2 + made.length)));
    expect(Math.max(...(await Promise.all(sidecars.map(backlog))))).toBeGreaterThan(0);
    proxy.restore();
    made.push(...(await load(rounds, 3)));
    expect(new Set(made).size).toBe(made.length); // decision ids are unique across sidecars
    await until(
      'every decision in the central log',
      async () => (await pool.query('SELECT count(*)::int AS n FROM decision_log')).rows[0].n >= made.length,
    );
    await until('no backlog left', async () => (await Promise.all(sidecars.map(backlog))).every((b) => b === 0));
    const { rows } = await pool.query('SELECT id FROM decision_log');
    expect(rows.length).toBe(made.length);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(made));
    const logs = await pool.query('SELECT count(DISTINCT log_id)::int AS n FROM decision_log');
    expect(logs.rows[0].n).toBe(SIDECARS);

    // The central log answers audit's filters: one principal's decisions, from every sidecar (audit's main()
    // in this process: what it prints is the subject here, not the process).
    const one = await pool.query(
      'SELECT principal_id, count(*)::int AS n FROM decision_log GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
    );
    const audit = await fleetguardInProcess([
      'audit',
      '--store',
      database.url,
      '--principal',
      one.rows[0].principal_id,
      '--json',
      '--limit',
      '100000',
    ]);
    expect(audit.status, audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout).length).toBe(one.rows[0].n);
  });

  it('shows a policy rollout converge: sidecars, revisions, then one revision', async () => {
    // `fleetguard sidecars` and GET /v1/admin/sidecars read the same table: the waits ask a sidecar (a
    // request), the CLI is asked once the table shows two revisions (its main() in this process), then one
    // (a real process, with the store from the environment).
    const revisions = async () => {
      const r = await fleetguardInProcess(['sidecars', '--store', database.url, '--json']);
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { policyRevision: string; address: string }[]).map((s) => s.policyRevision);
    };
    const listed = async () =>
      (
        (await (await fetch(`${sidecars[1]!.url}/v1/admin/sidecars`, { headers: admin })).json()) as {
          sidecars: { policyRevision: string }[];
        }
      ).sidecars.map((s) => s.policyRevision);
    await until('every sidecar registered', async () => (await listed()).length === SIDECARS);
    const registered = await listed();
    expect(registered.length).toBe(SIDECARS);
    expect(new Set(registered).size).toBe(1);
    const reload = async (i: number) => {
      appendFileSync(join(dir, `policies-${i}`, 'devices.yaml'), '\n# rollout\n');
      const res = await fetch(`${sidecars[i]!.url}/v1/admin/reload`, { method: 'POST', headers: admin });
      expect(res.status).toBe(200);
    };
    await reload(0);
    await until('the first sidecar on the new revision', async () => new Set(await listed()).size === 2);
    const two = await revisions();
    expect(two.length).toBe(SIDECARS);
    expect(new Set(two).size).toBe(2);
    expect(new Set(await listed()).size).toBe(2);
    for (let i = 1; i < SIDECARS; i++) await reload(i);
    await until('one revision everywhere', async () => new Set(await listed()).size === 1);
    const table = await fleetguardAsync(['sidecars'], { env: { FLEETGUARD_STORE: database.url } });
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^id +host +address +revision +started +last seen +state\n/);
    expect(table.stdout).toContain(`${SIDECARS} sidecar(s), all serving one revision`);
  });

  it('fleetguard sidecars: one line and exit 2 without a store or when it cannot be read', async () => {
    const none = await fleetguardAsync(['sidecars'], { env: { FLEETGUARD_STORE: '' } });
    expect(none.status).toBe(2);
    expect(none.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^fleetguard sidecars: needs a shared store/),
    ]);
    const closed = await fleetguardAsync(['sidecars', '--store', 'postgres://fleet:s3cret@127.0.0.1:1/none']);
    expect(closed.status).toBe(2);
    expect(closed.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^fleetguard sidecars: cannot read the store at postgres:\/\/fleet:\*\*\*@127\.0\.0\.1:1\/none: /,
      ),
    ]);
  });
});
