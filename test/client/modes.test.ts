// What differs between the modes: a sidecar resolves credentials, listens on a Unix socket and limits
// batch sizes; an embedded client reports a policy directory that does not compile and reloads one that
// changes. Both fail closed.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type AuthorizeRequest } from '../../client/client.js';
import { POLICIES_DIR } from '../support/policies.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const readRelease = (principal: AuthorizeRequest['principal'], fleet: string): AuthorizeRequest => ({
  principal,
  action: 'read',
  resource: { type: 'release', id: `r-${fleet}`, attributes: { fleet, organization: 'o-1' } },
});
const device = { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } };

/** Polls `check` until it holds (a reload is asynchronous); fails after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('the condition never held');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sidecar mode', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ batchLimit: 10 });
  });
  afterAll(() => server?.stop());

  it('sends a credential principal for the sidecar to resolve from its key store', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const key = await server.post(
      '/v1/admin/provisioning-keys',
      { fleet: 'f-cred', organization: 'o-1', expiresAt: '2099-01-01T00:00:00Z' },
      admin,
    );
    const provisioned = await server.post('/v1/provision', { provisioningKey: key.body.key, deviceId: 'cred-1' });
    expect(provisioned.status).toBe(201);
    const client = createClient({ url: server.url, timeoutMs: 30_000 });
    const credential = { credential: provisioned.body.deviceKey as string };
    expect(await client.isAllowed(readRelease(credential, 'f-cred'))).toBe(true);
    expect(await client.isAllowed(readRelease(credential, 'f-other'))).toBe(false);
    const forged = await client.authorize(readRelease({ credential: 'fg.nope.nope' }, 'f-cred'));
    expect(forged).toMatchObject({ allowed: false, reason: 'the credential is not valid' });
    await client.close();
  });

  it('splits batches larger than the sidecar takes', async () => {
    const client = createClient({ url: server.url, maxBatch: 25, timeoutMs: 30_000 });
    const fleets = Array.from({ length: 25 }, (_, i) => (i % 2 ? 'f-1' : 'f-2'));
    const decisions = await Promise.all(fleets.map((f) => client.authorize(readRelease(device, f))));
    expect(decisions.map((d) => d.allowed)).toEqual(fleets.map((f) => f === 'f-1'));
    expect(decisions.every((d) => d.error === undefined)).toBe(true);
    await client.close();
  });

  it('talks to a sidecar on a Unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-socket-'));
    const onSocket = await startTestServer({ socket: join(dir, 'fleetguard.sock') });
    const client = createClient({ socketPath: join(dir, 'fleetguard.sock'), timeoutMs: 30_000 });
    try {
      await client.ready();
      const [own, other] = await Promise.all([
        client.isAllowed(readRelease(device, 'f-1')),
        client.isAllowed(readRelease(device, 'f-2')),
      ]);
      expect([own, other]).toEqual([true, false]);
    } finally {
      await client.close();
      await onSocket.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses options that cannot work', () => {
    expect(() => createClient({})).toThrow(/exactly one of url, socketPath or policies/);
    expect(() => createClient({ url: server.url, policies: POLICIES_DIR } as never)).toThrow(/exactly one of/);
    expect(() => createClient({ url: server.url, maxBatch: 0 })).toThrow(/maxBatch/);
  });
});

describe('embedded mode', () => {
  it('denies a credential principal: only a sidecar holds the keys', async () => {
    const client = createClient({ policies: POLICIES_DIR });
    const d = await client.authorize(readRelease({ credential: 'fg.x.y' }, 'f-1'));
    expect(d).toMatchObject({ allowed: false, errors: [{ code: 'credential_needs_sidecar' }] });
    await client.close();
  });

  it('reports a directory that does not compile, and denies everything asked of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-broken-'));
    cpSync(POLICIES_DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'devices.yaml'), 'rules:\n  - id: broken\n    effect: maybe\n');
    const client = createClient({ policies: dir });
    try {
      await expect(client.ready()).rejects.toThrow(/devices\.yaml:\d+:\d+/);
      const d = await client.authorize(readRelease(device, 'f-1'));
      expect(d.allowed).toBe(false);
      expect(d.reason).toMatch(/^the policies could not be loaded: devices\.yaml:\d+:\d+/);
      const plan = await client.plan({ principal: device, action: 'read', resourceType: 'release' });
      expect(plan.sql.where).toBe('1 = 0');
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reloads a watched directory, and keeps the last good set when a change does not compile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-watch-'));
    cpSync(POLICIES_DIR, dir, { recursive: true });
    const reloads: { ok: boolean }[] = [];
    const client = createClient({ policies: dir, watch: true, onReload: (r) => reloads.push(r) });
    try {
      await client.ready();
      expect(await client.isAllowed(readRelease(device, 'f-1'))).toBe(true);
      const devices = readFileSync(join(dir, 'devices.yaml'), 'utf8');
      writeFileSync(join(dir, 'devices.yaml'), 'rules:\n  - id: broken\n    effect: maybe\n');
      await eventually(async () => reloads.some((r) => !r.ok));
      expect(await client.isAllowed(readRelease(device, 'f-1'))).toBe(true);
      // Without the device rules, the same request is denied.
      writeFileSync(join(dir, 'devices.yaml'), devices.replace(/rules:[\s\S]*/, 'rules: []\n'));
      await eventually(async () => !(await client.isAllowed(readRelease(device, 'f-1'))));
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
