// Bearer tokens on the admin and AuthZEN endpoints (issue 14, item 6): the token is checked before the
// body is read, so without it no body, however wrong, gets anything but 401 (or 404 where the admin
// endpoints do not exist); the scheme is case-insensitive (RFC 7235); the admin token can come from a file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../server/config.js';
import { startServer } from '../../server/main.js';
import { fleetguardAsync } from '../support/cli.js';
import { POLICIES_DIR } from '../support/policies.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const AUTHZEN_TOKEN = 'authzen-token-0123456789';

/** Bodies that fail at every stage after authentication: validation, JSON parsing, content type, size. */
const BAD_BODIES: { name: string; body: string; type: string }[] = [
  { name: 'an invalid body', body: '{"users":[]}', type: 'application/json' },
  { name: 'malformed JSON', body: '{"users":', type: 'application/json' },
  { name: 'a non-JSON content type', body: 'users=1', type: 'text/plain' },
  {
    name: 'a body over the limit',
    body: JSON.stringify({ users: [{ id: 'x'.repeat(4096) }] }),
    type: 'application/json',
  },
];

const send = (url: string, body: string, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', headers, body }).then(async (r) => ({ status: r.status, body: await r.json() }));

let server: TestServer;
let unguarded: TestServer;
beforeAll(async () => {
  server = await startTestServer({ bodyLimit: 1024, authzenToken: AUTHZEN_TOKEN });
  unguarded = await startTestServer({ adminToken: undefined });
});
afterAll(async () => {
  await server.stop();
  await unguarded.stop();
});

describe('admin endpoints', () => {
  it.each(BAD_BODIES)('without the token, $name is a 401', async ({ body, type }) => {
    for (const authorization of [undefined, 'Bearer wrong-token-xxxxxxxxxx', `Basic ${ADMIN_TOKEN}`, ADMIN_TOKEN]) {
      const headers: Record<string, string> = { 'content-type': type };
      if (authorization) headers.authorization = authorization;
      const res = await send(`${server.url}/v1/admin/users`, body, headers);
      expect(res).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    }
  });

  it.each(BAD_BODIES)('on a sidecar without an admin token, $name is a 404', async ({ body, type }) => {
    const res = await send(`${unguarded.url}/v1/admin/users`, body, {
      'content-type': type,
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('with the token, the body is validated as before', async () => {
    const res = await send(`${server.url}/v1/admin/users`, '{"users":"x"}', {
      'content-type': 'application/json',
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', path: 'users' } } });
  });

  it('accepts the scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const res = await send(`${server.url}/v1/admin/users`, '{"users":[{"id":"case"}]}', {
        'content-type': 'application/json',
        authorization: `${scheme} ${ADMIN_TOKEN}`,
      });
      expect(res).toEqual({ status: 200, body: { imported: 1 } });
    }
  });
});

describe('AuthZEN endpoints with a token', () => {
  const evaluation = '/access/v1/evaluation';

  it.each(BAD_BODIES)('without the token, $name is a 401', async ({ body, type }) => {
    const res = await send(server.url + evaluation, body, { 'content-type': type });
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
  });

  it('accepts the scheme in any case, and validates the body after it', async () => {
    const body = JSON.stringify({
      subject: { type: 'user', id: 'u' },
      action: { name: 'read' },
      resource: { type: 'fleet', id: 'f' },
    });
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const headers = { 'content-type': 'application/json', authorization: `${scheme} ${AUTHZEN_TOKEN}` };
      expect((await send(server.url + evaluation, body, headers)).status).toBe(200);
      expect((await send(server.url + evaluation, '{}', headers)).status).toBe(400);
    }
  });
});

describe('the admin token from a file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetguard-token-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const config = (settings: Record<string, unknown>) =>
    resolveConfig(
      { port: 0, policies: POLICIES_DIR, db: join(dir, 'file.db'), logLevel: 'silent', watch: false, ...settings },
      {},
    );

  it('guards the admin endpoints with the file’s token, its trailing newline removed', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'token-from-a-file-0123456789\n');
    const s = await startTestServer({ adminToken: undefined, adminTokenFile: file });
    try {
      const ok = await s.post('/v1/admin/reload', {}, { authorization: 'Bearer token-from-a-file-0123456789' });
      expect(ok.status).toBe(200);
      expect((await s.post('/v1/admin/reload', {}, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(401);
    } finally {
      await s.stop();
    }
  });

  it.each([
    ['a missing file', () => ({ adminTokenFile: join(dir, 'absent') }), /admin token file .*absent.*: no such file/],
    [
      'a token that is too short',
      () => {
        writeFileSync(join(dir, 'short'), 'short\n');
        return { adminTokenFile: join(dir, 'short') };
      },
      /at least 16 characters/,
    ],
    [
      'a token given both ways',
      () => {
        writeFileSync(join(dir, 'both'), 'token-from-a-file-0123456789');
        return { adminTokenFile: join(dir, 'both'), adminToken: ADMIN_TOKEN };
      },
      /admin token.*both|one way/,
    ],
  ])('%s stops the start with one line', async (_name, settings, message) => {
    const started = startServer(config(settings()));
    await expect(started).rejects.toThrow(message);
    await started.catch((e: Error & { errors?: string[] }) => {
      expect(e.errors).toHaveLength(1);
      expect(e.errors![0]).not.toContain('\n');
    });
  });

  it('fleetguard serve --admin-token-file and FLEETGUARD_ADMIN_TOKEN_FILE refuse a missing file: exit 2, one line', async () => {
    const absent = join(dir, 'absent-cli');
    // The two processes side by side: each spends its time loading the server's modules.
    const [byFlag, byEnv] = await Promise.all([
      fleetguardAsync([
        'serve',
        '--port',
        '0',
        '--no-watch',
        '--db',
        join(dir, 'cli.db'),
        '--admin-token-file',
        absent,
      ]),
      fleetguardAsync(['serve', '--port', '0', '--no-watch', '--db', join(dir, 'cli.db')], {
        env: { FLEETGUARD_ADMIN_TOKEN_FILE: absent },
      }),
    ]);
    for (const r of [byFlag, byEnv]) {
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(absent);
    }
  });
});
