// The sidecar as a process: graceful shutdown loses nothing, kill -9 loses at most one flush interval,
// SIGHUP reloads, and `fleetguard audit` reads what was logged.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/store/database.js';
import { fleetguard } from '../support/cli.js';
import { POLICIES_DIR } from '../support/policies.js';
import { spawnSidecar } from '../support/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-process-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const batch = (n: number, tag: string) => ({
  requests: Array.from({ length: n }, (_, i) => ({
    principal: { type: 'device', id: `d-${tag}`, attributes: { fleet: 'f-1', organization: 'o-1' } },
    action: i % 2 === 0 ? 'read' : 'delete',
    resource: { type: 'release', id: `r-${i}`, attributes: { fleet: 'f-1', organization: 'o-1' } },
  })),
});

async function post(url: string, path: string, body: unknown) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

function countLogged(db: string, principal: string): number {
  const conn = openDatabase(db);
  try {
    return (conn.prepare('SELECT count(*) AS n FROM decisions WHERE principal_id = ?').get(principal) as { n: number })
      .n;
  } finally {
    conn.close();
  }
}

describe('the sidecar process', () => {
  it('SIGTERM finishes in-flight requests, writes every decision and exits 0', async () => {
    const db = join(tmp, 'term.db');
    const p = await spawnSidecar(['--db', db, '--log-flush-ms', '250', '--log-requests']);
    for (let i = 0; i < 5; i++) expect((await post(p.url, '/v1/authorize/batch', batch(100, 'term'))).status).toBe(200);
    const inFlight = post(p.url, '/v1/authorize/batch', batch(1000, 'term')); // sent, then the signal
    await new Promise((r) => setTimeout(r, 5));
    p.child.kill('SIGTERM');
    const res = await inFlight.catch(() => undefined);
    const exit = await p.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(p.output()).toContain('shutting down');
    const answered = 500 + (res?.status === 200 ? 1000 : 0);
    expect(countLogged(db, 'd-term')).toBe(answered);
  });

  it('kill -9 loses at most the last flush interval', async () => {
    const db = join(tmp, 'kill.db');
    const p = await spawnSidecar(['--db', db]); // default flush interval: 100 ms
    for (let i = 0; i < 5; i++) expect((await post(p.url, '/v1/authorize/batch', batch(100, 'kill'))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400)); // longer than the 250 ms bound
    p.child.kill('SIGKILL');
    expect((await p.exited).signal).toBe('SIGKILL');
    expect(countLogged(db, 'd-kill')).toBe(500);
  });

  it('SIGHUP reloads the policies', async () => {
    const dir = join(tmp, 'policies');
    cpSync(POLICIES_DIR, dir, { recursive: true });
    const p = await spawnSidecar(['--db', join(tmp, 'hup.db'), '--policies', dir, '--no-watch']);
    try {
      const before = (await (await fetch(`${p.url}/health`)).json()).policyRevision;
      writeFileSync(join(dir, 'extra.yaml'), 'rules: []\n');
      p.child.kill('SIGHUP');
      let after = before;
      for (let i = 0; i < 50 && after === before; i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = (await (await fetch(`${p.url}/health`)).json()).policyRevision;
      }
      expect(after).not.toBe(before);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });

  it('refuses to start on invalid policies, printing file:line:col (exit 2)', async () => {
    const dir = join(tmp, 'invalid');
    cpSync(POLICIES_DIR, dir, { recursive: true });
    writeFileSync(
      join(dir, 'extra.yaml'),
      'rules:\n  - id: x\n    description: x\n    effect: allow\n    principal: devise\n    actions: [read]\n    resources: [fleet]\n',
    );
    const r = fleetguard(['serve', '--port', '0', '--db', join(tmp, 'invalid.db'), '--policies', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('extra.yaml:5:16: unknown principal type `devise`');
  });

  it('fleetguard audit queries the log by principal, outcome and time, as a table or JSON', () => {
    const db = join(tmp, 'term.db');
    const json = fleetguard([
      'audit',
      '--db',
      db,
      '--principal',
      'd-term',
      '--outcome',
      'deny',
      '--json',
      '--limit',
      '5',
    ]);
    expect(json.status).toBe(0);
    const rows = JSON.parse(json.stdout);
    expect(rows).toHaveLength(5);
    expect(rows[0]).toMatchObject({
      principalType: 'device',
      principalId: 'd-term',
      action: 'delete',
      outcome: 'deny',
      matched: [],
      resourceType: 'release',
    });
    expect(rows[0].request.principal.id).toBe('d-term');
    const table = fleetguard(['audit', '--db', db, '--principal', 'd-term', '--outcome', 'allow', '--limit', '3']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^time\s+outcome\s+principal\s+action\s+resource\s+matched\s+revision$/,
    );
    expect(table.stdout).toContain('3 decision(s)');
    expect(table.stdout).toMatch(/allow\s+device:d-term\s+read\s+release:r-0\s+device-read-fleet-content/);
    const ndjson = fleetguard(['audit', '--db', db, '--principal', 'd-term', '--limit', '4', '--ndjson'])
      .stdout.trim()
      .split('\n');
    expect(ndjson.map((line) => JSON.parse(line).principalId)).toEqual(['d-term', 'd-term', 'd-term', 'd-term']);
    const future = fleetguard(['audit', '--db', db, '--since', '2999-01-01T00:00:00Z']);
    expect(future.stdout).toContain('0 decision(s)');
    expect(fleetguard(['audit', '--db', db, '--since', 'yesterday']).status).toBe(2);
  });
});
