// Keys and provisioning end to end over HTTP (issue #4): a device key obtained by provisioning stays in
// its fleet; bad attempts create nothing; the cap holds under concurrency, also across processes.
import fc from 'fast-check';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/store/database.js';
import { fleetguard } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { ACTIONS, RESOURCE_TYPES } from '../support/fleet-arbitraries.js';
import { depth } from '../support/depth.js';
import { spawnSidecar } from '../support/process.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const FUTURE = '2099-01-01T00:00:00Z';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ provisionRateLimit: 1000 });
});
afterAll(() => server.stop());

async function createKey(s: TestServer, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await s.post('/v1/admin/provisioning-keys', { organization: 'o-1', expiresAt: FUTURE, ...body }, admin);
  expect(res.status).toBe(201);
  return res.body;
}

/** A POST from a given loopback address (Linux answers on all of 127.0.0.0/8): one client per address. */
function postFrom(
  s: TestServer,
  localAddress: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: any }> {
  const url = new URL(s.url + path);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.setHeader('content-type', 'application/json');
    req.end(JSON.stringify(body));
  });
}

const count = (s: TestServer, sql: string, ...params: unknown[]) =>
  (s.db.prepare(sql).get(...params) as { n: number }).n;

describe('provisioning', () => {
  it('registers a device, returns its key once, and the key reads its own fleet', async () => {
    const { key, id } = await createKey(server, { fleet: 'f-flow' });
    const res = await server.post('/v1/provision', {
      provisioningKey: key,
      deviceId: 'flow-1',
      metadata: { model: 'pi4' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      device: { id: 'flow-1', fleet: 'f-flow', organization: 'o-1' },
      deviceKey: expect.stringMatching(/^fg\./),
      decisionId: expect.any(String),
    });
    const release = { type: 'release', id: 'r-1', attributes: { fleet: 'f-flow', organization: 'o-1' } };
    const own = await server.post('/v1/authorize', {
      principal: { credential: res.body.deviceKey },
      action: 'read',
      resource: release,
    });
    expect(own.body).toMatchObject({ decision: 'allow', matched: [{ rule: 'device-read-fleet-content' }] });
    // The key is stored only as a digest.
    const stored = JSON.stringify(server.db.prepare('SELECT * FROM credentials').all());
    expect(stored).not.toContain(res.body.deviceKey.split('.')[2]);
    expect(stored).not.toContain(key.split('.')[2]);
    expect(count(server, 'SELECT registrations AS n FROM provisioning_keys WHERE id = ?', id)).toBe(1);
  });

  it('a device key from fleet A gets deny on every resource of fleet B (property, through credential resolution)', async () => {
    const fleets = ['f-a', 'f-b', 'f-c'];
    const deviceKeys: { key: string; fleet: string; id: string }[] = [];
    for (const fleet of fleets) {
      const { key } = await createKey(server, { fleet });
      for (let i = 0; i < 2; i++) {
        const res = await server.post('/v1/provision', { provisioningKey: key, deviceId: `${fleet}-dev-${i}` });
        deviceKeys.push({ key: res.body.deviceKey, fleet, id: res.body.device.id });
      }
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...deviceKeys),
        fc.array(
          fc.record({
            type: fc.constantFrom(...RESOURCE_TYPES),
            action: fc.constantFrom(...ACTIONS),
            fleet: fc.constantFrom(...fleets),
            org: fc.constantFrom('o-1', 'o-2'),
            id: fc.constantFrom(...deviceKeys.map((d) => d.id), ...fleets, 'x'),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        // Whatever the caller adds next to the credential is ignored.
        fc.constantFrom(undefined, { type: 'device', id: 'spoof', attributes: { fleet: 'f-b' } }),
        async (device, items, spoof) => {
          const requests = items.map((it) => ({
            principal: spoof ? { credential: device.key, ...spoof } : { credential: device.key },
            action: it.action,
            resource:
              it.type === 'organization'
                ? { type: it.type, id: it.org }
                : it.type === 'fleet'
                  ? { type: it.type, id: it.fleet, attributes: { organization: it.org } }
                  : { type: it.type, id: it.id, attributes: { fleet: it.fleet, organization: it.org, device: it.id } },
          }));
          const { status, body } = await server.post('/v1/authorize/batch', { requests });
          expect(status).toBe(200);
          body.results.forEach((d: { allowed: boolean }, i: number) => {
            const it = items[i]!;
            const resourceFleet = it.type === 'fleet' ? it.fleet : it.type === 'organization' ? undefined : it.fleet;
            if (resourceFleet !== device.fleet) expect(d.allowed).toBe(false);
          });
        },
      ),
      { numRuns: depth(60, 200) },
    );
  });

  it.each([
    ['an expired key', { fleet: 'f-x', expiresAt: '2020-01-01T00:00:00Z' }, undefined],
    ['a key from outside its address range', { fleet: 'f-x', allowedCidrs: ['203.0.113.0/24'] }, undefined],
    ['a key at its cap', { fleet: 'f-x', maxRegistrations: 0 }, undefined],
    ['a revoked key', { fleet: 'f-x' }, 'revoke'],
  ])('%s is denied, creates nothing, and looks like any other denial', async (_name, body, then) => {
    const { key, id } = await createKey(server, body);
    if (then === 'revoke') expect((await server.post(`/v1/admin/keys/${id}/revoke`, {}, admin)).status).toBe(200);
    const devicesBefore = count(server, 'SELECT count(*) AS n FROM devices');
    const res = await server.post('/v1/provision', { provisioningKey: key, deviceId: `nope-${id}` });
    expect(res.status).toBe(403);
    expect(Object.keys(res.body).sort()).toEqual(['decisionId', 'error']);
    expect(res.body.error).toEqual({ code: 'denied', message: 'provisioning was denied' });
    expect(count(server, 'SELECT count(*) AS n FROM devices')).toBe(devicesBefore);
    expect(count(server, 'SELECT registrations AS n FROM provisioning_keys WHERE id = ?', id)).toBe(0);
  });

  it('an unknown or malformed key gets the same denial', async () => {
    for (const provisioningKey of ['fg.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'garbage']) {
      const res = await server.post('/v1/provision', { provisioningKey, deviceId: 'ghost' });
      expect(res.status).toBe(403);
      expect(res.body.error).toEqual({ code: 'denied', message: 'provisioning was denied' });
    }
    expect(count(server, "SELECT count(*) AS n FROM devices WHERE id = 'ghost'")).toBe(0);
  });

  it("a device id of another organization's fleet is the same 403 as any denial, logged and counted; 409 only in the key's own fleet", async () => {
    const s = await startTestServer({ provisionRateLimit: 1000 });
    try {
      const a = await createKey(s, { fleet: 'fA', organization: 'o1' });
      const c = await createKey(s, { fleet: 'fC', organization: 'o2' });
      expect((await s.post('/v1/provision', { provisioningKey: a.key, deviceId: 'dev-a' })).status).toBe(201);
      const taken = await s.post('/v1/provision', { provisioningKey: c.key, deviceId: 'dev-a' });
      const expired = await createKey(s, { fleet: 'fC', organization: 'o2', expiresAt: '2020-01-01T00:00:00Z' });
      const denied = await s.post('/v1/provision', { provisioningKey: expired.key, deviceId: 'dev-new' });
      expect(taken.status).toBe(403);
      expect(Object.keys(taken.body).sort()).toEqual(['decisionId', 'error']);
      expect(taken.body.error).toEqual(denied.body.error);
      // Nothing changed: the device stays in fA, fC's key counted nothing.
      expect(s.keys.resolve(a.key)).toBeDefined();
      expect(count(s, "SELECT count(*) AS n FROM devices WHERE id = 'dev-a' AND fleet = 'fA'")).toBe(1);
      expect(count(s, 'SELECT registrations AS n FROM provisioning_keys WHERE id = ?', c.id)).toBe(0);
      // The key's own fleet: 409.
      const a2 = await createKey(s, { fleet: 'fA', organization: 'o1' });
      const own = await s.post('/v1/provision', { provisioningKey: a2.key, deviceId: 'dev-a' });
      expect(own).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
      await s.decisionLog.drain();
      const row = s.db
        .prepare('SELECT outcome, principal_id, errors FROM decisions WHERE id = ?')
        .get(taken.body.decisionId);
      expect(row).toMatchObject({
        outcome: 'deny',
        principal_id: c.id,
        errors: expect.stringContaining('device-id-taken'),
      });
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/^fleetguard_provision_attempts_total\{outcome="denied"\} 2$/m);
      expect(metrics).toMatch(/^fleetguard_provision_attempts_total\{outcome="conflict"\} 1$/m);
    } finally {
      await s.stop();
    }
  });

  it('a single-use key is revoked by its first registration; an existing device id is a 409 and not counted', async () => {
    const { key, id } = await createKey(server, { fleet: 'f-once', singleUse: true });
    expect((await server.post('/v1/provision', { provisioningKey: key, deviceId: 'once-1' })).status).toBe(201);
    expect((await server.post('/v1/provision', { provisioningKey: key, deviceId: 'once-2' })).status).toBe(403);
    const multi = await createKey(server, { fleet: 'f-once' });
    const conflict = await server.post('/v1/provision', { provisioningKey: multi.key, deviceId: 'once-1' });
    expect(conflict).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(count(server, 'SELECT registrations AS n FROM provisioning_keys WHERE id = ?', multi.id)).toBe(0);
    expect(count(server, 'SELECT registrations AS n FROM provisioning_keys WHERE id = ?', id)).toBe(1);
  });

  it('every attempt is in the decision log, never a secret', async () => {
    await server.decisionLog.drain();
    const rows = server.db.prepare("SELECT * FROM decisions WHERE action = 'register'").all() as {
      principal_type: string;
      outcome: string;
    }[];
    expect(rows.length).toBeGreaterThanOrEqual(14);
    // The revoked key, the unknown key and the malformed one resolve to nothing: logged by key id only.
    expect(rows.filter((r) => r.principal_type === 'credential').length).toBe(3);
    expect(new Set(rows.map((r) => r.outcome))).toEqual(new Set(['allow', 'deny']));
    const keysJson = JSON.stringify((await fetch(`${server.url}/v1/admin/keys`, { headers: admin })).json());
    expect(keysJson).not.toMatch(/fg\.[A-Za-z0-9_-]{16}\./);
  });

  it('never exceeds the cap under 40 concurrent registrations', async () => {
    const { key, id } = await createKey(server, { fleet: 'f-race', maxRegistrations: 5 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        server.post('/v1/provision', { provisioningKey: key, deviceId: `race-${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 403)).toHaveLength(35);
    expect(count(server, "SELECT count(*) AS n FROM devices WHERE fleet = 'f-race'")).toBe(5);
    expect(count(server, 'SELECT registrations AS n FROM provisioning_keys WHERE id = ?', id)).toBe(5);
  });
});

describe('addresses and abuse limits', () => {
  it('uses X-Forwarded-For only behind a trusted proxy', async () => {
    for (const trustProxy of [false, true]) {
      const s = await startTestServer({ trustProxy });
      try {
        const { key } = await createKey(s, { fleet: 'f-factory', allowedCidrs: ['203.0.113.0/24'] });
        const res = await s.post(
          '/v1/provision',
          { provisioningKey: key, deviceId: 'factory-1' },
          { 'x-forwarded-for': '203.0.113.9' },
        );
        expect(res.status).toBe(trustProxy ? 201 : 403);
      } finally {
        await s.stop();
      }
    }
  });

  it('limits attempts per client address and per key (429), and counts them', async () => {
    const s = await startTestServer({ provisionRateLimit: 3 });
    try {
      const { key } = await createKey(s, { fleet: 'f-rl', maxRegistrations: 0 });
      const statuses = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await s.post('/v1/provision', { provisioningKey: key, deviceId: `rl-${i}` })).status);
      expect(statuses).toEqual([403, 403, 403, 429, 429]);
      const limited = await s.post('/v1/provision', { provisioningKey: key, deviceId: 'rl-x' });
      expect(limited.body.error.code).toBe('rate_limited');
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/^fleetguard_provision_attempts_total\{outcome="rate_limited"\} 3$/m);
      expect(metrics).toMatch(/^fleetguard_provision_attempts_total\{outcome="denied"\} 3$/m);
    } finally {
      await s.stop();
    }
  });
});

describe('rate limits', () => {
  it('one key is limited across client addresses; one address is limited across keys', async () => {
    const s = await startTestServer({ provisionRateLimit: 3 });
    try {
      const { key } = await createKey(s, { fleet: 'f-spread' });
      const perKey = [];
      for (let i = 1; i <= 8; i++)
        perKey.push(
          (await postFrom(s, `127.0.0.${10 + i}`, '/v1/provision', { provisioningKey: key, deviceId: `sp-${i}` }))
            .status,
        );
      expect(perKey).toEqual([201, 201, 201, 429, 429, 429, 429, 429]);
      expect(count(s, "SELECT count(*) AS n FROM devices WHERE fleet = 'f-spread'")).toBe(3);

      const perAddress = [];
      for (let i = 1; i <= 5; i++) {
        const other = await createKey(s, { fleet: 'f-one-address' });
        perAddress.push(
          (await postFrom(s, '127.0.0.40', '/v1/provision', { provisioningKey: other.key, deviceId: `oa-${i}` }))
            .status,
        );
      }
      expect(perAddress).toEqual([201, 201, 201, 429, 429]);
    } finally {
      await s.stop();
    }
  });

  it('an IPv6 client is limited by its /64', async () => {
    const s = await startTestServer({ provisionRateLimit: 2, trustProxy: true });
    try {
      const statuses = [];
      for (let i = 1; i <= 4; i++) {
        const { key } = await createKey(s, { fleet: 'f-v6' });
        const res = await s.post(
          '/v1/provision',
          { provisioningKey: key, deviceId: `v6-${i}` },
          { 'x-forwarded-for': `2001:db8:0:1::${i.toString(16)}:${i}` },
        );
        statuses.push(res.status);
      }
      expect(statuses).toEqual([201, 201, 429, 429]);
      const { key } = await createKey(s, { fleet: 'f-v6' });
      const other = await s.post(
        '/v1/provision',
        { provisioningKey: key, deviceId: 'v6-other' },
        { 'x-forwarded-for': '2001:db8:0:2::1' },
      );
      expect(other.status).toBe(201);
    } finally {
      await s.stop();
    }
  });

  it("a wrong secret with a key's id counts against the address, not the key", async () => {
    const s = await startTestServer({ provisionRateLimit: 2 });
    try {
      const { key, id } = await createKey(s, { fleet: 'f-guess' });
      const wrong = `fg.${id}.${'A'.repeat(43)}`;
      for (let i = 1; i <= 4; i++)
        expect(
          (await postFrom(s, `127.0.0.${60 + i}`, '/v1/provision', { provisioningKey: wrong, deviceId: 'g' })).status,
        ).toBe(403);
      expect((await postFrom(s, '127.0.0.70', '/v1/provision', { provisioningKey: key, deviceId: 'g-1' })).status).toBe(
        201,
      );
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      // One vocabulary: an unknown or wrong key is a denial, as the response says.
      expect(metrics).toMatch(/^fleetguard_provision_attempts_total\{outcome="denied"\} 4$/m);
      expect(metrics).not.toContain('outcome="invalid"');
    } finally {
      await s.stop();
    }
  });
});

describe('administration', () => {
  it('needs the admin token', async () => {
    expect(
      (await server.post('/v1/admin/provisioning-keys', { fleet: 'f', organization: 'o', expiresAt: FUTURE })).status,
    ).toBe(401);
    expect((await fetch(`${server.url}/v1/admin/keys`)).status).toBe(401);
  });

  it('validates provisioning keys', async () => {
    const res = await server.post(
      '/v1/admin/provisioning-keys',
      { fleet: 'f', organization: 'o', expiresAt: FUTURE, allowedCidrs: ['10.0.0.300/8'] },
      admin,
    );
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', path: 'allowedCidrs.0' } } });
  });

  it('deleting a device stops its key at once; 404 for a device that does not exist', async () => {
    const { key } = await createKey(server, { fleet: 'f-del' });
    const { body } = await server.post('/v1/provision', { provisioningKey: key, deviceId: 'del-1' });
    const req = {
      principal: { credential: body.deviceKey },
      action: 'read',
      resource: { type: 'fleet', id: 'f-del', attributes: { organization: 'o-1' } },
    };
    expect((await server.post('/v1/authorize', req)).body.allowed).toBe(true);
    expect((await fetch(`${server.url}/v1/admin/devices/del-1`, { method: 'DELETE', headers: admin })).status).toBe(
      204,
    );
    expect((await server.post('/v1/authorize', req)).body).toMatchObject({
      allowed: false,
      reason: 'the credential is not valid',
    });
    expect((await fetch(`${server.url}/v1/admin/devices/del-1`, { method: 'DELETE', headers: admin })).status).toBe(
      404,
    );
  });

  it('imports users and issues tokens that carry their roles', async () => {
    expect(
      (await server.post('/v1/admin/users', { users: [{ id: 'alice', developerOf: ['f-1'] }] }, admin)).body,
    ).toEqual({ imported: 1 });
    const token = await server.post('/v1/admin/users/alice/tokens', {}, admin);
    expect(token.status).toBe(201);
    const ssh = (fleet: string) => ({
      principal: { credential: token.body.token },
      action: 'ssh',
      resource: { type: 'device', id: 'd', attributes: { fleet, organization: 'o-1' } },
    });
    expect((await server.post('/v1/authorize', ssh('f-1'))).body.allowed).toBe(true);
    expect((await server.post('/v1/authorize', ssh('f-2'))).body.allowed).toBe(false);
    expect((await server.post('/v1/admin/users/bob/tokens', {}, admin)).status).toBe(404);
  });
});

describe('several processes sharing one database', () => {
  it('never exceed the cap, and fleetguard keys manages the same store', async () => {
    const db = join(server.dir, 'shared.db');
    // `fleetguard keys` from its main() in this process, but for one real process (exit 2).
    const created = await fleetguardInProcess([
      'keys',
      'create-provisioning',
      '--db',
      db,
      '--fleet',
      'f-multi',
      '--organization',
      'o-1',
      '--expires-at',
      FUTURE,
      '--max-registrations',
      '7',
    ]);
    expect(created.status).toBe(0);
    const { key, id } = JSON.parse(created.stdout);
    // Two processes in `npm test` (each costs a process start), three under test:deep.
    const procs = await Promise.all(
      Array.from({ length: depth(2, 3) }, () =>
        spawnSidecar(['--db', db, '--no-watch', '--decision-threads', '0'], {
          FLEETGUARD_PROVISION_RATE_LIMIT: '1000',
        }),
      ),
    );
    try {
      const attempts = Array.from({ length: 45 }, (_, i) =>
        fetch(`${procs[i % procs.length]!.url}/v1/provision`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ provisioningKey: key, deviceId: `multi-${i}` }),
        }).then((r) => r.status),
      );
      const statuses = await Promise.all(attempts);
      expect(statuses.filter((s) => s === 201)).toHaveLength(7);
      expect(statuses.filter((s) => s === 403)).toHaveLength(38);
    } finally {
      for (const p of procs) p.child.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
    }
    const conn = openDatabase(db);
    expect((conn.prepare("SELECT count(*) AS n FROM devices WHERE fleet = 'f-multi'").get() as { n: number }).n).toBe(
      7,
    );
    conn.close();
    const list = await fleetguardInProcess(['keys', 'list', '--db', db]);
    expect(list.status, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed.find((k: { id: string }) => k.id === id).provisioning).toMatchObject({
      registrations: 7,
      maxRegistrations: 7,
    });
    expect(JSON.stringify(listed)).not.toContain(key.split('.')[2]);
    const revoked = await fleetguardInProcess(['keys', 'revoke', id, '--db', db]);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({ id, revoked: true });
    expect(fleetguard(['keys', 'delete-device', 'nope', '--db', db]).status).toBe(2);
  });
});
