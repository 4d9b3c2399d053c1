// The sidecar as a process: graceful shutdown loses nothing and is bounded, kill -9 loses at most one
// flush interval, SIGHUP reloads, and `fleetguard audit` reads what was logged.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/store/database.js';
import { fleetguard } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { POLICIES_DIR } from '../support/policies.js';
import { depth } from '../support/depth.js';
import { spawnSidecar, type SidecarProcess } from '../support/process.js';
import { until } from '../support/wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-process-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const batch = (n: number, tag: string) => ({
  requests: Array.from({ length: n }, (_, i) => ({
    principal: { type: 'device', id: `d-${tag}`, attributes: { fleet: 'f-1', organization: 'o-1' } },
    action: i % 2 === 0 ? 'read' : 'delete',
    resource: { type: 'release', id: `r-${i}`, attributes: { fleet: 'f-1', organization: 'o-1' } },
  })),
});

async function health(url: string) {
  return (await fetch(`${url}/health`)).json();
}

/** A POST on its own keep-alive connection whose body stops halfway until `finish()`. */
function holdRequest(url: string, path: string, body: string) {
  const agent = new Agent({ keepAlive: true });
  const req = request(new URL(path, url), {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const half = Math.floor(body.length / 2);
  const started = new Promise<void>((resolve) => req.write(body.slice(0, half), () => resolve()));
  const response = new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
  });
  response.catch(() => undefined); // awaited later, maybe after it failed
  // The client keeps its connection open after the answer, as keep-alive clients do: closing it is the
  // server's job. `release` closes it at the end of the test.
  return { started, response, finish: () => req.end(body.slice(half)), release: () => agent.destroy() };
}

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
  // The race that hung for fastify's 72 s keep-alive timeout: a request in flight on a keep-alive
  // connection when SIGTERM arrives is answered after the server began closing, and its connection then
  // sat idle. Each round holds a request in flight for sure (its headers are in, half its body is not),
  // sends SIGTERM, then the rest of the body: the answer must come, say `Connection: close`, be logged,
  // and the process must exit 0 without the shutdown timeout having to cut anything.
  const rounds = depth(2, 25); // one round with decision threads, one without
  it(`SIGTERM finishes in-flight requests, writes every decision and exits 0 (${rounds} rounds of the race)`, async () => {
    let inFlight = 0;
    for (let round = 0; round < rounds; round++) {
      const tag = round === 0 ? 'term' : `term-${round}`;
      const db = join(tmp, round === 0 ? 'term.db' : `term-${round}.db`);
      const threads = round % 2 === 0 ? [] : ['--decision-threads', '0'];
      const p = await spawnSidecar([
        '--db',
        db,
        '--log-flush-ms',
        '250',
        '--log-requests',
        ...threads,
        '--shutdown-timeout',
        '60',
      ]);
      for (let i = 0; i < 5; i++) expect((await post(p.url, '/v1/authorize/batch', batch(100, tag))).status).toBe(200);

      const held = holdRequest(p.url, '/v1/authorize/batch', JSON.stringify(batch(1000, tag)));
      await held.started; // headers and half the body are in the kernel's buffer
      await fetch(`${p.url}/health`); // and read by the server: it answered a request sent after them
      p.child.kill('SIGTERM');
      await until('the sidecar begins to shut down', () => p.output().includes('shutting down'));
      held.finish();
      const res = await held.response.catch(() => undefined);
      const exit = await p.exited;
      held.release();

      expect(exit).toEqual({ code: 0, signal: null });
      expect(p.output()).not.toContain('shutdown timeout');
      if (res) {
        inFlight++;
        expect(res.status).toBe(200);
        expect(res.headers.connection).toBe('close');
        expect(JSON.parse(res.body).results).toHaveLength(1000);
      }
      expect(countLogged(db, `d-${tag}`)).toBe(500 + (res ? 1000 : 0));
    }
    expect(inFlight).toBeGreaterThan(0); // the race was really run (a request not yet read is refused, fairly)
  });

  it('--shutdown-timeout bounds a request that never completes, and what was decided is still logged', async () => {
    const db = join(tmp, 'stuck.db');
    const p = await spawnSidecar(['--db', db, '--shutdown-timeout', '0.5', '--decision-threads', '0']);
    for (let i = 0; i < 5; i++)
      expect((await post(p.url, '/v1/authorize/batch', batch(100, 'stuck'))).status).toBe(200);
    const held = holdRequest(p.url, '/v1/authorize/batch', JSON.stringify(batch(10, 'stuck')));
    await held.started;
    await fetch(`${p.url}/health`);
    p.child.kill('SIGTERM'); // the rest of the body never comes
    expect(await p.exited).toEqual({ code: 0, signal: null });
    held.release();
    await expect(held.response).rejects.toThrow();
    const line = p
      .output()
      .split('\n')
      .find((l) => l.includes('shutdown timeout'));
    expect(JSON.parse(line!)).toMatchObject({ destroyed: 1, shutdownTimeout: 0.5 });
    expect(countLogged(db, 'd-stuck')).toBe(500);
  });

  // One process for SIGHUP, then kill -9 (which ends it): neither is about decision threads.
  const hupDir = join(tmp, 'policies');
  let shared: Promise<SidecarProcess> | undefined;
  const sharedSidecar = () => {
    if (!shared) {
      cpSync(POLICIES_DIR, hupDir, { recursive: true });
      shared = spawnSidecar([
        '--db',
        join(tmp, 'kill.db'),
        '--policies',
        hupDir,
        '--no-watch',
        '--decision-threads',
        '0',
      ]);
    }
    return shared;
  };
  afterAll(async () => {
    const p = await shared;
    if (p && p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });

  it('SIGHUP reloads the policies', async () => {
    const p = await sharedSidecar();
    const before = (await health(p.url)).policyRevision;
    writeFileSync(join(hupDir, 'extra.yaml'), 'rules: []\n');
    p.child.kill('SIGHUP');
    await until('the reload', async () => (await health(p.url)).policyRevision !== before);
  });

  // The writer commits every flush interval on its own (100 ms by default); how soon is the machine's
  // business, so the test waits for the commit it expects, then kills: nothing committed is lost.
  it('kill -9 loses nothing the writer has committed, and the writer commits without being asked', async () => {
    const db = join(tmp, 'kill.db');
    const p = await sharedSidecar();
    for (let i = 0; i < 5; i++) expect((await post(p.url, '/v1/authorize/batch', batch(100, 'kill'))).status).toBe(200);
    await until('the writer commits the 500 decisions', async () => (await health(p.url)).decisionLog.written >= 500);
    p.child.kill('SIGKILL');
    expect((await p.exited).signal).toBe('SIGKILL');
    expect(countLogged(db, 'd-kill')).toBe(500);
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

  // What audit prints, from its main() in this process; exit 2 on a bad time from a real one.
  it('fleetguard audit queries the log by principal, outcome and time, as a table or JSON', async () => {
    const db = join(tmp, 'term.db');
    const json = await fleetguardInProcess([
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
    const table = await fleetguardInProcess([
      'audit',
      '--db',
      db,
      '--principal',
      'd-term',
      '--outcome',
      'allow',
      '--limit',
      '3',
    ]);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^time\s+outcome\s+principal\s+action\s+resource\s+matched\s+revision$/,
    );
    expect(table.stdout).toContain('3 decision(s)');
    expect(table.stdout).toMatch(/allow\s+device:d-term\s+read\s+release:r-0\s+device-read-fleet-content/);
    const ndjson = (
      await fleetguardInProcess(['audit', '--db', db, '--principal', 'd-term', '--limit', '4', '--ndjson'])
    ).stdout
      .trim()
      .split('\n');
    expect(ndjson.map((line) => JSON.parse(line).principalId)).toEqual(['d-term', 'd-term', 'd-term', 'd-term']);
    const future = await fleetguardInProcess(['audit', '--db', db, '--since', '2999-01-01T00:00:00Z']);
    expect(future.stdout).toContain('0 decision(s)');
    expect(fleetguard(['audit', '--db', db, '--since', 'yesterday']).status).toBe(2);
  });
});
