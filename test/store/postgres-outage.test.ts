// A sidecar on PostgreSQL through a TCP proxy the test cuts and restores: while the store is out of
// reach, provisioning answers 503 store_unavailable, credentials are checked from the cache until
// --store-stale-after and then denied with a reason that says so, inline principals and AuthZEN requests
// on cached entities are decided, /health and fleetguard_store_up say it; once the store is back the
// sidecar reconnects by itself and reloads what it missed.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { StartupError } from '../../server/main.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { startTcpProxy, throughProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/wait.js';

const STALE_AFTER_S = 3;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe.skipIf(!postgresAvailable)('a PostgreSQL outage', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;

  beforeAll(async () => {
    db = await createTestDatabase('outage');
    proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
    server = await startTestServer({ store: throughProxy(db.url, proxy), storeStaleAfter: STALE_AFTER_S });
  });
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await db?.drop();
  });

  const health = async () => (await (await fetch(`${server.url}/health`)).json()).store;
  const storeUp = async () =>
    /^fleetguard_store_up (\d)$/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1];
  const deviceRead = (credential: string) => ({
    principal: { credential },
    action: 'read',
    resource: { type: 'release', id: 'r-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
  });
  const inlineRead = {
    principal: { type: 'device', id: 'd-inline', attributes: { fleet: 'f-1', organization: 'o-1' } },
    action: 'read',
    resource: { type: 'release', id: 'r-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
  };

  it('a sidecar that cannot reach the store at start does not start, and says which store without its password', async () => {
    proxy.cut();
    try {
      const start = startTestServer({ store: throughProxy(db.url, proxy).replace('postgres@', 'postgres:s3cret@') });
      await expect(start).rejects.toThrow(StartupError);
      await expect(start).rejects.toThrow(/postgres:\*\*\*@127\.0\.0\.1:\d+\/\w+: the store is unreachable: /);
      await expect(start).rejects.not.toThrow(/s3cret/);
    } finally {
      proxy.restore();
    }
  });

  it('fails closed, keeps deciding what it can, and comes back by itself', async () => {
    await until('the store up (after the test before cut it)', async () => (await health()).up === true, 30_000);
    const created = await server.post(
      '/v1/admin/provisioning-keys',
      { fleet: 'f-1', organization: 'o-1', expiresAt: '2099-01-01T00:00:00Z' },
      admin,
    );
    expect(created.status).toBe(201);
    const provisioned = await server.post('/v1/provision', { provisioningKey: created.body.key, deviceId: 'dev-1' });
    expect(provisioned.status).toBe(201);
    const deviceKey: string = provisioned.body.deviceKey;
    expect((await server.post('/v1/admin/users', { users: [{ id: 'u-1', adminOf: ['o-1'] }] }, admin)).status).toBe(
      200,
    );
    expect((await server.post('/v1/authorize', deviceRead(deviceKey))).body.allowed).toBe(true);
    expect(await health()).toMatchObject({ kind: 'postgres', up: true });
    expect(await storeUp()).toBe('1');

    proxy.cut();
    const cutAt = Date.now();
    await until('the store seen down', async () => (await health()).up === false, 30_000);
    const down = await health();
    expect(down.error).toEqual(expect.any(String));
    expect(Date.parse(down.credentialsCheckedUntil)).toBeGreaterThan(cutAt - 2_000);
    expect(await storeUp()).toBe('0');

    // Provisioning needs the store: 503, never a registration without the cap check.
    const refused = await server.post('/v1/provision', { provisioningKey: created.body.key, deviceId: 'dev-2' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('store_unavailable');

    // Within --store-stale-after the cache answers for credentials; inline principals and AuthZEN on
    // cached entities are decided all along.
    const early = await server.post('/v1/authorize', deviceRead(deviceKey));
    if (Date.now() - cutAt < (STALE_AFTER_S - 1) * 1000) expect(early.body.allowed).toBe(true);
    await until(
      'credentials denied once the cache is stale',
      async () => (await server.post('/v1/authorize', deviceRead(deviceKey))).body.allowed === false,
      30_000,
    );
    const stale = await server.post('/v1/authorize', deviceRead(deviceKey));
    // Never denied before the cache is stale: stale-after counts from the store's last confirmation,
    // which comes before the cut by up to the time it took to notice.
    expect(Date.now()).toBeGreaterThan(Date.parse(down.credentialsCheckedUntil));
    expect(stale.body.reason).toMatch(
      /^the credential could not be checked: the key store has been unreachable for \d+ s$/,
    );
    expect(stale.body.errors[0].code).toBe('credential-unchecked');
    expect((await server.post('/v1/authorize', inlineRead)).body.allowed).toBe(true);
    const evaluation = await server.post('/access/v1/evaluation', {
      subject: { type: 'user', id: 'u-1' },
      action: { name: 'read' },
      resource: { type: 'organization', id: 'o-1' },
    });
    expect(evaluation.status).toBe(200);
    expect(evaluation.body.decision).toBe(true);

    // A change made while this sidecar could not hear of it: it must be seen after the reconnect.
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    try {
      await direct.query("UPDATE credentials SET revoked = true WHERE kind = 'device' AND subject = 'dev-1'");
    } finally {
      await direct.end();
    }

    proxy.restore();
    await until('the store seen up again', async () => (await health()).up === true, 30_000);
    expect(await storeUp()).toBe('1');
    const after = await server.post('/v1/authorize', deviceRead(deviceKey));
    expect(after.body.allowed).toBe(false);
    expect(after.body.reason).toBe('the credential is not valid');
    const again = await server.post('/v1/provision', { provisioningKey: created.body.key, deviceId: 'dev-2' });
    expect(again.status).toBe(201);
    expect((await server.post('/v1/authorize', deviceRead(again.body.deviceKey))).body.allowed).toBe(true);
  });
});
