// The structural requirements of AuthZEN 1.0, level by level: Basic (transport), Batch (semantics),
// Search (paging) and Discovery (metadata), on the search pack, plus the decision log and the token.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ policies: join(REPO_DIR, 'examples/authzen-search') });
});
afterAll(() => server.stop());

const raw = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(server.url + path, { method: 'POST', headers, body });
const post = async (path: string, body: unknown, headers?: Record<string, string>) => {
  const res = await raw(path, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
  return { status: res.status, headers: res.headers, body: await res.json() };
};

const alice = { type: 'user', id: 'alice' };
const bob = { type: 'user', id: 'bob' };
const record = (id: string) => ({ type: 'record', id });
const view = { name: 'view' };

describe('Basic: access evaluation', () => {
  it('answers allow and deny with 200, with the decision context', async () => {
    const allow = await post('/access/v1/evaluation', { subject: bob, action: view, resource: record('102') });
    expect(allow).toMatchObject({
      status: 200,
      body: {
        decision: true,
        context: {
          decision_id: expect.any(String),
          policy_revision: expect.stringMatching(/^sha256:/),
          matched: [{ rule: 'view-own-department-or-as-manager' }],
        },
      },
    });
    const deny = await post('/access/v1/evaluation', {
      subject: bob,
      action: { name: 'delete' },
      resource: record('101'),
    });
    expect(deny).toMatchObject({ status: 200, body: { decision: false } });
  });

  it.each([
    ['a missing subject', { action: view, resource: record('101') }],
    ['a missing action', { subject: bob, resource: record('101') }],
    ['a missing resource', { subject: bob, action: view }],
    ['a subject without type', { subject: { id: 'bob' }, action: view, resource: record('101') }],
    ['a subject without id', { subject: { type: 'user' }, action: view, resource: record('101') }],
    ['an action without name', { subject: bob, action: {}, resource: record('101') }],
    ['a subject that is a string', { subject: 'alice', action: view, resource: record('101') }],
    ['a name that is a number', { subject: bob, action: { name: 123 }, resource: record('101') }],
  ])('400 for %s', async (_name, body) => {
    expect((await post('/access/v1/evaluation', body)).status).toBe(400);
  });

  it('400 for malformed JSON, an empty body and a non-JSON content type', async () => {
    expect((await raw('/access/v1/evaluation', '{"subject":')).status).toBe(400);
    expect((await raw('/access/v1/evaluation', '')).status).toBe(400);
    expect(
      (
        await raw('/access/v1/evaluation', JSON.stringify({ subject: bob, action: view, resource: record('101') }), {
          'content-type': 'text/xml',
        })
      ).status,
    ).toBe(400);
  });

  it('ignores unknown fields, echoes X-Request-ID, ignores Authorization without a configured token', async () => {
    const res = await post(
      '/access/v1/evaluation',
      { subject: { ...bob, extra: 1 }, action: view, resource: record('102'), whatever: true },
      { 'x-request-id': 'req-42', authorization: 'undefined' },
    );
    expect(res.status).toBe(200);
    expect(res.body.decision).toBe(true);
    expect(res.headers.get('x-request-id')).toBe('req-42');
  });

  it('requires the bearer token once one is configured', async () => {
    const guarded = await startTestServer({
      policies: join(REPO_DIR, 'examples/authzen-search'),
      authzenToken: 'authzen-token-0123456789',
    });
    try {
      const body = { subject: bob, action: view, resource: record('102') };
      const none = await fetch(`${guarded.url}/access/v1/evaluation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(none.status).toBe(401);
      const ok = await fetch(`${guarded.url}/access/v1/evaluation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer authzen-token-0123456789' },
        body: JSON.stringify(body),
      });
      expect((await ok.json()).decision).toBe(true);
    } finally {
      await guarded.stop();
    }
  });

  it('fills attributes from the store; the store wins over request properties', async () => {
    // bob is an employee of Legal in the store; claiming to be a manager changes nothing.
    const res = await post('/access/v1/evaluation', {
      subject: { ...bob, properties: { role: 'manager', department: 'Accounting' } },
      action: view,
      resource: record('104'),
    });
    expect(res.body.decision).toBe(false);
    // An entity the store does not hold is decided on what the request says.
    const stranger = await post('/access/v1/evaluation', {
      subject: { type: 'user', id: 'zoe', properties: { role: 'manager', department: 'Sales' } },
      action: view,
      resource: record('104'),
    });
    expect(stranger.body.decision).toBe(true);
  });
});

describe('Batch: access evaluations', () => {
  const items = [{ resource: record('102') }, { resource: record('104') }, { resource: record('101') }];

  it('defaults apply, results come in request order, items are exactly { decision }', async () => {
    const res = await post('/access/v1/evaluations', { subject: bob, action: view, evaluations: items });
    expect(res.body).toEqual({ evaluations: [{ decision: true }, { decision: false }, { decision: true }] });
  });

  it('an item replaces a default entity wholesale (never merged, never reused by id)', async () => {
    const res = await post('/access/v1/evaluations', {
      subject: { type: 'user', id: 'zoe', properties: { role: 'manager', department: 'Sales' } },
      action: view,
      evaluations: [
        { resource: record('104') },
        { subject: { type: 'user', id: 'zoe' }, resource: record('104') },
        {
          subject: { type: 'user', id: 'zoe', properties: { role: 'manager', department: 'X' } },
          resource: record('104'),
        },
      ],
    });
    expect(res.body.evaluations).toEqual([{ decision: true }, { decision: false }, { decision: true }]);
  });

  it('deny_on_first_deny and permit_on_first_permit stop at the deciding item', async () => {
    const deny = await post('/access/v1/evaluations', {
      subject: bob,
      action: view,
      evaluations: items,
      options: { evaluations_semantic: 'deny_on_first_deny' },
    });
    expect(deny.body.evaluations).toEqual([{ decision: true }, { decision: false }]);
    const permit = await post('/access/v1/evaluations', {
      subject: bob,
      action: view,
      evaluations: [items[1], items[0], items[2]],
      options: { evaluations_semantic: 'permit_on_first_permit' },
    });
    expect(permit.body.evaluations).toEqual([{ decision: false }, { decision: true }]);
  });

  it('an invalid item under execute_all is a deny with the error, not a 400', async () => {
    const res = await post('/access/v1/evaluations', {
      action: view,
      evaluations: [
        { subject: bob, resource: record('102') },
        { resource: record('102') },
        { subject: 'x', resource: record('102') },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.evaluations[0]).toEqual({ decision: true });
    expect(res.body.evaluations[1]).toMatchObject({ decision: false, context: { error: { status: 400 } } });
    expect(res.body.evaluations[2]).toMatchObject({
      decision: false,
      context: { error: { status: 400, path: 'subject' } },
    });
  });

  it('a missing or empty evaluations list is a single evaluation', async () => {
    for (const evaluations of [undefined, []]) {
      const res = await post('/access/v1/evaluations', {
        subject: bob,
        action: view,
        resource: record('102'),
        evaluations,
      });
      expect(res.body.decision).toBe(true);
    }
    expect((await post('/access/v1/evaluations', { subject: bob, action: view })).status).toBe(400);
  });

  it('include_context adds each decision context', async () => {
    const res = await post('/access/v1/evaluations', {
      subject: bob,
      action: view,
      evaluations: items.slice(0, 1),
      options: { include_context: true },
    });
    expect(res.body.evaluations[0]).toMatchObject({ decision: true, context: { decision_id: expect.any(String) } });
  });
});

describe('Search', () => {
  it('pages results with page.limit and page.token, losing and repeating nothing', async () => {
    const all = await post('/access/v1/search/resource', {
      subject: alice,
      action: view,
      resource: { type: 'record' },
    });
    expect(all.body.results).toHaveLength(20);
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const res = await post('/access/v1/search/resource', {
        subject: alice,
        action: view,
        resource: { type: 'record' },
        page: { limit: 6, ...(token ? { token } : {}) },
      });
      seen.push(...res.body.results.map((r: { id: string }) => r.id));
      token = res.body.page.next_token;
      if (!token) break;
    }
    expect(seen).toEqual(all.body.results.map((r: { id: string }) => r.id));
    expect(
      (
        await post('/access/v1/search/resource', {
          subject: alice,
          action: view,
          resource: { type: 'record' },
          page: { token: '!!' },
        })
      ).status,
    ).toBe(400);
  });

  it('subject search lists stored subjects allowed; action search the schema actions allowed', async () => {
    const subjects = await post('/access/v1/search/subject', {
      subject: { type: 'user' },
      action: { name: 'delete' },
      resource: record('101'),
    });
    expect(subjects.body.results).toEqual([{ type: 'user', id: 'alice' }]);
    const actions = await post('/access/v1/search/action', { subject: bob, resource: record('102') });
    expect(actions.body.results).toEqual([{ name: 'view' }, { name: 'edit' }, { name: 'delete' }]);
  });
});

describe('Discovery', () => {
  it('the metadata names the base URL it was fetched from and every endpoint', async () => {
    const meta = await (await fetch(`${server.url}/.well-known/authzen-configuration`)).json();
    expect(meta).toEqual({
      policy_decision_point: server.url,
      access_evaluation_endpoint: `${server.url}/access/v1/evaluation`,
      access_evaluations_endpoint: `${server.url}/access/v1/evaluations`,
      search_subject_endpoint: `${server.url}/access/v1/search/subject`,
      search_resource_endpoint: `${server.url}/access/v1/search/resource`,
      search_action_endpoint: `${server.url}/access/v1/search/action`,
    });
  });
});

describe('decision log', () => {
  it('records AuthZEN decisions like any other', async () => {
    await server.decisionLog.drain();
    const before = server.decisionLog.stats.written;
    await post('/access/v1/evaluations', {
      subject: bob,
      action: view,
      evaluations: [{ resource: record('102') }, { resource: record('104') }],
    });
    await server.decisionLog.drain();
    expect(server.decisionLog.stats.written).toBe(before + 2);
  });
});

describe('fleetguard entities import', () => {
  it('loads entities into the store that a sidecar then uses', async () => {
    const { fleetguard } = await import('../support/cli.js');
    const { fleetguardInProcess } = await import('../support/cli-in-process.js');
    const db = join(server.dir, 'imported.db');
    const pack = join(REPO_DIR, 'examples/authzen-search');
    // What the import stores, from its main() in this process; the refusal (exit 2) from a real one.
    const r = await fleetguardInProcess([
      'entities',
      'import',
      join(pack, 'entities.yaml'),
      '--policies',
      pack,
      '--db',
      db,
    ]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ imported: 26 });
    const bad = fleetguard(['entities', 'import', join(pack, 'schema.yaml'), '--policies', pack, '--db', db]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/schema\.yaml:\d+:\d+: .*unknown field/);
  });
});
