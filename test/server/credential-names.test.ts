// A request that presents a key gets the same answer whether the key is valid or not when it names an
// action or resource type the schema does not declare (issue 14, item 5): the names are checked before
// the key is looked at, on the single and the batch route (with and without decision threads), and the
// refusal is in the decision log under the key id like any other attempt with a key.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../support/policies.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const release = { type: 'release', id: 'r-1', attributes: { fleet: 'f-n', organization: 'o-1' } };

/** Kinds of key: three valid ones and three that are not. */
async function keysOf(s: TestServer): Promise<Record<string, string>> {
  const created = await s.post(
    '/v1/admin/provisioning-keys',
    { fleet: 'f-n', organization: 'o-1', expiresAt: '2099-01-01T00:00:00Z' },
    admin,
  );
  const device = await s.post('/v1/provision', { provisioningKey: created.body.key, deviceId: 'names-1' });
  await s.post('/v1/admin/users', { users: [{ id: 'names-user', developerOf: ['f-n'] }] }, admin);
  const token = await s.post('/v1/admin/users/names-user/tokens', {}, admin);
  // Each step must have worked: a key left undefined would be sent as `{ principal: {} }` and fail later
  // with a message that hides which step it was.
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(device.status, JSON.stringify(device.body)).toBe(201);
  expect(token.status, JSON.stringify(token.body)).toBe(201);
  const id = created.body.key.split('.')[1];
  return {
    device: device.body.deviceKey,
    user: token.body.token,
    provisioning: created.body.key,
    'wrong secret': `fg.${id}.${'A'.repeat(43)}`,
    unknown: `fg.AAAAAAAAAAAAAAAA.${'A'.repeat(43)}`,
    malformed: 'not-a-key',
  };
}

const UNKNOWN = [
  { name: 'an unknown action', action: 'teleport', resource: release },
  { name: 'an unknown resource type', action: 'read', resource: { type: 'spaceship', id: 's-1' } },
  { name: 'both', action: 'teleport', resource: { type: 'spaceship', id: 's-1' } },
];

for (const decisionThreads of [0, 1]) {
  describe(`unknown names with a credential (decision threads: ${decisionThreads})`, () => {
    let s: TestServer;
    let keys: Record<string, string>;
    beforeAll(async () => {
      s = await startTestServer({ decisionThreads, provisionRateLimit: 1000 });
      keys = await keysOf(s);
    });
    afterAll(() => s.stop());

    it.each(UNKNOWN)('$name: the same 400 for every key, valid or not', async ({ action, resource }) => {
      const single = await Promise.all(
        Object.values(keys).map((credential) =>
          s.post('/v1/authorize', { principal: { credential }, action, resource }),
        ),
      );
      const batch = await Promise.all(
        Object.values(keys).map((credential) =>
          s.post('/v1/authorize/batch', {
            requests: [
              { principal: { credential: keys.device }, action: 'read', resource: release },
              { principal: { credential }, action, resource },
            ],
          }),
        ),
      );
      const code = action === 'teleport' ? 'unknown_action' : 'unknown_resource_type';
      for (const res of single) expect(res).toEqual(single[0]);
      expect(single[0]).toMatchObject({ status: 400, body: { error: { code } } });
      for (const res of batch) expect(res).toEqual(batch[0]);
      expect(batch[0]).toMatchObject({
        status: 400,
        body: { error: { code, path: expect.stringMatching(/^requests\.1\./) } },
      });
    });

    it('every such refusal is in the decision log under the key id, never the key', async () => {
      await s.decisionLog.drain();
      const before = s.db.prepare("SELECT count(*) AS n FROM decisions WHERE action = 'teleport'").get() as {
        n: number;
      };
      for (const credential of Object.values(keys))
        await s.post('/v1/authorize', { principal: { credential }, action: 'teleport', resource: release });
      await s.decisionLog.drain();
      const rows = s.db
        .prepare(
          "SELECT principal_type, principal_id, outcome, errors FROM decisions WHERE action = 'teleport' ORDER BY time",
        )
        .all()
        .slice(before.n) as { principal_type: string; principal_id: string; outcome: string; errors: string }[];
      expect(rows).toHaveLength(Object.keys(keys).length);
      for (const row of rows) {
        expect(row).toMatchObject({ principal_type: 'credential', outcome: 'deny' });
        expect(row.errors).toContain('unknown-action');
      }
      const ids = Object.values(keys).map((k) => k.split('.')[1] ?? '-');
      expect(rows.map((r) => r.principal_id).sort()).toEqual(ids.sort());
      const text = JSON.stringify(rows);
      for (const key of Object.values(keys)) if (key.includes('.')) expect(text).not.toContain(key.split('.')[2]);
    });
  });
}

describe('a key whose principal type the served schema does not declare', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ policies: join(REPO_DIR, 'examples/authzen-todo') });
  });
  afterAll(() => s.stop());

  it('is denied with a 200, as an invalid key is, and both are logged', async () => {
    s.db
      .prepare(
        "INSERT INTO devices (id, fleet, organization, metadata, provisioned_by, created_at) VALUES ('todo-dev', 'f', 'o', NULL, NULL, 0)",
      )
      .run();
    const { key } = await s.keys.issue('device', 'todo-dev');
    const ask = (credential: string) =>
      s.post('/v1/authorize', {
        principal: { credential },
        action: 'can_read_todos',
        resource: { type: 'todo', id: 't-1' },
      });
    const valid = await ask(key);
    const invalid = await ask(`fg.AAAAAAAAAAAAAAAA.${'A'.repeat(43)}`);
    expect(valid).toMatchObject({ status: 200, body: { allowed: false } });
    expect(invalid).toMatchObject({ status: 200, body: { allowed: false } });
    await s.decisionLog.drain();
    const logged = s.db
      .prepare("SELECT id FROM decisions WHERE id IN (?, ?) AND outcome = 'deny'")
      .all(valid.body.decisionId, invalid.body.decisionId);
    expect(logged).toHaveLength(2);
  });
});
