// The sidecar's own log (server/log.ts; fastify runs without one): decisions write no line, the lines a
// request writes name the request, and no line ever holds a key's secret.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLog } from '../../server/log.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const lines: Record<string, unknown>[] = [];
const stream = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
    done();
  },
});
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const device = { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
const release = { type: 'release', id: 'r-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
const secretOf = (key: string) => key.split('.')[2]!;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ logLevel: 'info' }, createLog('info', stream));
});
afterAll(() => server.stop());
beforeEach(() => {
  lines.length = 0;
});

describe('the sidecar log', () => {
  it('writes no line for decisions, allowed, denied or refused', async () => {
    for (let i = 0; i < 10; i++) {
      expect(
        (
          await server.post('/v1/authorize', {
            principal: device,
            action: i % 2 ? 'read' : 'delete',
            resource: release,
          })
        ).status,
      ).toBe(200);
    }
    expect(
      (
        await server.post('/v1/authorize/batch', {
          requests: [{ principal: device, action: 'read', resource: release }],
        })
      ).status,
    ).toBe(200);
    expect((await server.post('/v1/authorize', { principal: device, action: 'read' })).status).toBe(400);
    expect(
      (
        await server.post('/v1/authorize', {
          principal: { credential: 'fg.nope.nope' },
          action: 'read',
          resource: release,
        })
      ).status,
    ).toBe(200);
    expect(lines).toEqual([]);
  });

  it('names the request on the lines it writes, and never a secret', async () => {
    const created = await server.post(
      '/v1/admin/provisioning-keys',
      { organization: 'o-1', fleet: 'f-log', expiresAt: '2099-01-01T00:00:00Z' },
      admin,
    );
    expect(created.status).toBe(201);
    const provisioned = await server.post('/v1/provision', { provisioningKey: created.body.key, deviceId: 'log-1' });
    expect(provisioned.status).toBe(201);
    const forged = `${created.body.key.split('.').slice(0, 2).join('.')}.${'x'.repeat(secretOf(created.body.key).length)}`;
    expect((await server.post('/v1/provision', { provisioningKey: forged, deviceId: 'log-2' })).status).toBe(403);

    const byMsg = (msg: string) => lines.filter((l) => l.msg === msg);
    expect(byMsg('provisioning key created')).toEqual([
      expect.objectContaining({
        level: 30,
        keyId: created.body.id,
        fleet: 'f-log',
        reqId: expect.stringMatching(/^req-/),
      }),
    ]);
    expect(byMsg('device provisioned')).toEqual([
      expect.objectContaining({
        level: 30,
        keyId: created.body.id,
        deviceId: 'log-1',
        reqId: expect.stringMatching(/^req-/),
      }),
    ]);
    expect(byMsg('provisioning with an invalid key')).toEqual([
      expect.objectContaining({
        level: 40,
        keyId: created.body.id,
        ip: '127.0.0.1',
        reqId: expect.stringMatching(/^req-/),
      }),
    ]);
    expect(new Set(lines.map((l) => l.reqId)).size).toBe(3);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(secretOf(created.body.key));
    expect(text).not.toContain(secretOf(provisioned.body.deviceKey));
  });
});
