// How the sidecar reads request bodies, over HTTP against a listening sidecar: only JSON is read (a
// browser can send text/plain, form and multipart bodies cross-site without a preflight), in any case
// and with any charset; a `__proto__` key is named; a request without a body is accepted with a JSON
// content type; nesting is bounded, and no body makes a 500 or an unlogged decision.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDecisions } from '../../server/decision-log/decision-log.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const device = { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
const release = { type: 'release', id: 'r-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
const authorize = { principal: device, action: 'read', resource: release };

/** A valid body for every JSON route. */
const ROUTES: [string, unknown, Record<string, string>][] = [
  ['/v1/authorize', authorize, {}],
  ['/v1/authorize/batch', { requests: [authorize] }, {}],
  ['/v1/plan', { principal: device, action: 'read', resourceType: 'release' }, {}],
  ['/v1/rules', { principal: device }, {}],
  ['/v1/provision', { provisioningKey: 'fg.AAAAAAAAAAAAAAAA.AAAA', deviceId: 'dev-ct' }, {}],
  ['/v1/admin/provisioning-keys', { fleet: 'f-1', organization: 'o-1', expiresAt: '2099-01-01T00:00:00Z' }, admin],
  ['/v1/admin/users', { users: [{ id: 'u-ct', memberOf: ['o-1'] }] }, admin],
];
const AUTHZEN: [string, unknown][] = [
  [
    '/access/v1/evaluation',
    { subject: { type: 'device', id: 'd-1' }, action: { name: 'read' }, resource: { type: 'release', id: 'r-1' } },
  ],
  [
    '/access/v1/evaluations',
    {
      subject: { type: 'device', id: 'd-1' },
      action: { name: 'read' },
      evaluations: [{ resource: { type: 'release', id: 'r-1' } }],
    },
  ],
];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ provisionRateLimit: 10_000 });
});
afterAll(() => server.stop());

async function send(
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string>,
): Promise<{ status: number; json: any }> {
  const res = await fetch(server.url + path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

describe('content types', () => {
  const others = [
    'text/plain',
    'text/plain; charset=utf-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonx',
    'application/json-patch+json',
    'text/json',
  ];

  it.each(ROUTES)('%s answers anything but application/json with 415', async (path, body, headers) => {
    for (const type of others) {
      const res = await send('POST', path, JSON.stringify(body), { ...headers, 'content-type': type });
      expect([type, res.status]).toEqual([type, 415]);
      expect(res.json.error.code).toBe('unsupported_media_type');
      expect(res.json.error.message).toContain('application/json');
    }
    // A body without a content type is not read as JSON either.
    const bare = await fetch(server.url + path, { method: 'POST', headers, body: new Blob([JSON.stringify(body)]) });
    expect(bare.status).toBe(415);
  });

  it.each(ROUTES)('%s reads application/json in any case, with any charset', async (path, body, headers) => {
    for (const type of [
      'application/json',
      'APPLICATION/JSON',
      'Application/Json; Charset=UTF-8',
      'application/json;charset=utf-8',
    ]) {
      const res = await send('POST', path, JSON.stringify(body), { ...headers, 'content-type': type });
      expect([type, res.status]).not.toEqual([type, 415]);
      expect([type, res.status]).not.toEqual([type, 400]);
    }
  });

  it('the batch route decides nothing for a text/plain body', async () => {
    const before = server.decisionLog.stats.written + server.decisionLog.queueDepth;
    const res = await send('POST', '/v1/authorize/batch', JSON.stringify({ requests: [authorize] }), {
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(415);
    await server.decisionLog.drain();
    expect(server.decisionLog.stats.written).toBe(before);
  });

  it.each(AUTHZEN)('%s answers a wrong content type with 400, as the AuthZEN spec says', async (path, body) => {
    for (const type of others) {
      const res = await send('POST', path, JSON.stringify(body), { 'content-type': type });
      expect([type, res.status, res.json.error.code]).toEqual([type, 400, 'invalid_request']);
    }
    const ok = await send('POST', path, JSON.stringify(body), { 'content-type': 'Application/JSON; charset=utf-8' });
    expect(ok.status).toBe(200);
  });
});

describe('prototype keys', () => {
  it.each([
    [
      '/v1/authorize',
      `{"principal":{"type":"device","id":"d-1","attributes":{"__proto__":{"fleet":"f-1"}}},"action":"read","resource":{"type":"release","id":"r-1"}}`,
    ],
    [
      '/v1/authorize/batch',
      `{"requests":[{"__proto__":{"x":1},"principal":{"type":"device","id":"d"},"action":"read","resource":{"type":"release","id":"r"}}]}`,
    ],
    [
      '/v1/plan',
      `{"principal":{"type":"device","id":"d-1","attributes":{"\\u005f_proto__":{}}},"action":"read","resourceType":"release"}`,
    ],
    [
      '/access/v1/evaluation',
      `{"__proto__":{},"subject":{"type":"device","id":"d-1"},"action":{"name":"read"},"resource":{"type":"release","id":"r-1"}}`,
    ],
  ])('%s names a __proto__ key instead of calling the body invalid JSON', async (path, text) => {
    const res = await send('POST', path, text, { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_request');
    expect(res.json.error.message).toContain('"__proto__"');
    expect(res.json.error.message).not.toMatch(/not valid JSON/i);
  });

  it('names a constructor.prototype key too', async () => {
    const text = `{"principal":{"type":"device","id":"d-1","attributes":{"constructor":{"prototype":{}}}},"action":"read","resource":{"type":"release","id":"r-1"}}`;
    const res = await send('POST', '/v1/authorize', text, { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain('"constructor"');
  });
});

describe('requests without a body', () => {
  const json = { 'content-type': 'application/json' };

  it('accepts GET, DELETE and body-less POSTs sent with content-type: application/json', async () => {
    expect(await send('GET', '/health', undefined, json)).toMatchObject({ status: 200 });
    expect(await send('GET', '/v1/admin/keys', undefined, { ...json, ...admin })).toMatchObject({ status: 200 });
    expect(await send('DELETE', '/v1/admin/devices/no-such-device', undefined, { ...json, ...admin })).toMatchObject({
      status: 404,
      json: { error: { code: 'not_found' } },
    });
    expect(await send('POST', '/v1/admin/reload', undefined, { ...json, ...admin })).toMatchObject({
      status: 200,
      json: { ok: true },
    });
    expect(await send('POST', '/v1/admin/keys/no-such-key/revoke', undefined, { ...json, ...admin })).toMatchObject({
      status: 404,
    });
  });

  it('still refuses an empty body where the route needs one', async () => {
    for (const [path, , headers] of ROUTES) {
      const res = await send('POST', path, '', { ...json, ...headers });
      expect([path, res.status, res.json.error.code]).toEqual([path, 400, 'invalid_json']);
    }
  });
});

describe('nesting, with --log-requests on', () => {
  let logged: TestServer;
  beforeAll(async () => {
    logged = await startTestServer({ logRequests: true, provisionRateLimit: 10_000, bodyLimit: 1024 * 1024 });
  });
  afterAll(() => logged.stop());

  /** `{"a":{"a":…1…}}`, `levels` objects deep. */
  const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const post = (path: string, text: string, headers: Record<string, string> = {}) => logged.post(path, text, headers);
  /** A valid body for each route, with `$DEEP$` where a free-form value may go. */
  const bodies: [string, string, Record<string, string>][] = [
    ['/v1/authorize', JSON.stringify({ ...authorize, context: { x: '$DEEP$' } }), {}],
    ['/v1/authorize/batch', JSON.stringify({ requests: [{ ...authorize, context: { x: '$DEEP$' } }] }), {}],
    [
      '/v1/plan',
      JSON.stringify({ principal: device, action: 'read', resourceType: 'release', context: { x: '$DEEP$' } }),
      {},
    ],
    ['/v1/rules', JSON.stringify({ principal: { ...device, attributes: { ...device.attributes, x: '$DEEP$' } } }), {}],
    [
      '/v1/admin/entities',
      JSON.stringify({ entities: [{ type: 'fleet', id: 'f-deep', attributes: { organization: 'o-1', x: '$DEEP$' } }] }),
      admin,
    ],
    [
      '/access/v1/evaluation',
      JSON.stringify({
        subject: { type: 'device', id: 'd-1', properties: { x: '$DEEP$' } },
        action: { name: 'read' },
        resource: { type: 'release', id: 'r-1' },
      }),
      {},
    ],
  ];
  const withDepth = (text: string, levels: number) => text.replace('"$DEEP$"', nested(levels));
  const loggedDecision = async (id: string) => {
    await logged.decisionLog.drain();
    return queryDecisions(logged.db, { limit: 100_000 }).find((d) => d.decisionId === id);
  };

  it.each(bodies)('%s refuses a body nested 6,000 deep with a 400, not a 500', async (path, text, headers) => {
    const res = await post(path, withDepth(text, 6000), headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('deeper than 400'),
    });
  });

  it('reads a body nested exactly 400 deep, and logs the request', async () => {
    // The body is level 1, context 2, and the 398 objects of `x` the rest.
    const ok = await post('/v1/authorize', withDepth(bodies[0]![1], 398));
    expect(ok.status).toBe(200);
    const row = await loggedDecision(ok.body.decisionId);
    expect(JSON.stringify(row?.request)).toContain(nested(398));
    expect((await post('/v1/authorize', withDepth(bodies[0]![1], 399))).status).toBe(400);
  });

  it('provisioning: deep metadata creates nothing and answers 400; metadata within the bound is stored and the decision logged', async () => {
    const created = await logged.post(
      '/v1/admin/provisioning-keys',
      { fleet: 'f-1', organization: 'o-1', expiresAt: '2099-01-01T00:00:00Z' },
      admin,
    );
    const provision = (deviceId: string, levels: number) =>
      post(
        '/v1/provision',
        JSON.stringify({ provisioningKey: created.body.key, deviceId, metadata: { x: '$DEEP$' } }).replace(
          '"$DEEP$"',
          nested(levels),
        ),
      );
    const devices = () => (logged.db.prepare('SELECT COUNT(*) AS n FROM devices').get() as { n: number }).n;
    const before = devices();
    const deep = await provision('dev-deep', 6000);
    expect(deep.status).toBe(400);
    expect(devices()).toBe(before);

    const ok = await provision('dev-within', 390);
    expect(ok.status).toBe(201);
    expect(devices()).toBe(before + 1);
    expect(await loggedDecision(ok.body.decisionId)).toMatchObject({ action: 'register', outcome: 'allow' });
  });
});
