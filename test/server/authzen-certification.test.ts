// The AuthZEN 1.0 certification scenario (certification/authorization-api-1_0-scenario.md in openid/authzen)
// against a sidecar serving examples/authzen-cert, level by level: Basic, Batch, Search and Discovery, each
// with its Core (identifiers only) and Properties cases where it has them. The fixture's eight decisions,
// the search fixture and the structural requirements are written out here, so this runs from a clean
// clone, with no case file.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ policies: join(REPO_DIR, 'examples/authzen-cert') });
});
afterAll(() => server.stop());

type Json = Record<string, unknown>;
const raw = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(server.url + path, { method: 'POST', headers, body });
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await raw(path, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const alice = { type: 'user', id: 'alice' };
const bob = { type: 'user', id: 'bob' };
const adminBob = { ...bob, properties: { role: 'admin' } };
const record1 = { type: 'record', id: 'record-1' };
const record2 = { type: 'record', id: 'record-2' };
const activeRecord1 = { ...record1, properties: { status: 'active' } };
const archivedRecord2 = { ...record2, properties: { status: 'archived' } };
const read = { name: 'read' };
const write = { name: 'write' };
const softDelete = { name: 'delete', properties: { soft: true } };
const hardDelete = { name: 'delete', properties: { soft: false } };

/** The eight decisions the harness validates: [case, request, expected decision]. */
const CORE: [string, Json, boolean][] = [
  ['1. alice read record-1', { subject: alice, action: read, resource: record1 }, true],
  ['2. alice write record-1', { subject: alice, action: write, resource: record1 }, true],
  ['3. bob read record-1', { subject: bob, action: read, resource: record1 }, true],
  ['4. bob write record-1', { subject: bob, action: write, resource: record1 }, false],
];
const PROPERTIES: [string, Json, boolean][] = [
  ['5. alice write archived record-2', { subject: alice, action: write, resource: archivedRecord2 }, false],
  [
    '6. bob (role admin) write archived record-2',
    { subject: adminBob, action: write, resource: archivedRecord2 },
    true,
  ],
  ['7. alice delete record-1 with soft: true', { subject: alice, action: softDelete, resource: activeRecord1 }, true],
  ['8. alice delete record-1 with soft: false', { subject: alice, action: hardDelete, resource: activeRecord1 }, false],
];
const EIGHT = [...CORE, ...PROPERTIES];
const CONTEXTS: [string, Json | undefined][] = [
  ['without a context', undefined],
  ['with a context', { time: '2026-11-24T10:00:00Z', request_ip: '203.0.113.7' }],
];
const withContext = (request: Json, context: Json | undefined) => (context ? { ...request, context } : request);

describe('Basic: access evaluation', () => {
  for (const [level, cases] of [
    ['Core', CORE],
    ['Properties', PROPERTIES],
  ] as const) {
    for (const [contextName, context] of CONTEXTS) {
      it.each(cases)(`${level}, ${contextName}: %s`, async (_name, request, expected) => {
        const res = await post('/access/v1/evaluation', withContext(request, context));
        expect(res.status).toBe(200);
        expect(res.body.decision).toBe(expected);
      });
    }
  }

  it('a response context, when present, is an object', async () => {
    for (const [, request] of EIGHT) {
      const { body } = await post('/access/v1/evaluation', request);
      expect(typeof body.decision).toBe('boolean');
      if ('context' in body) expect(body.context).toEqual(expect.any(Object));
      expect(Array.isArray(body.context)).toBe(false);
    }
  });

  it('unknown top-level fields and extra properties change no decision', async () => {
    for (const [name, request, expected] of EIGHT) {
      const padded = {
        ...request,
        whatever: { nested: [1, 2] },
        subject: { ...(request.subject as Json), extra: true },
        action: { ...(request.action as Json), extra: 'x' },
        resource: {
          ...(request.resource as Json),
          properties: { ...((request.resource as Json).properties as Json | undefined), colour: 'blue' },
        },
      };
      const res = await post('/access/v1/evaluation', padded);
      expect([name, res.status, res.body.decision]).toEqual([name, 200, expected]);
    }
  });

  it('echoes X-Request-ID when sent, answers without one, and repeats its decisions', async () => {
    const sent = await post('/access/v1/evaluation', CORE[0]![1], { 'x-request-id': 'cert-7' });
    expect(sent.headers.get('x-request-id')).toBe('cert-7');
    const none = await post('/access/v1/evaluation', CORE[0]![1]);
    expect(none.status).toBe(200);
    expect(none.headers.get('x-request-id')).toBeNull();
    for (let round = 0; round < 3; round++) {
      for (const [, request, expected] of EIGHT)
        expect((await post('/access/v1/evaluation', request)).body.decision).toBe(expected);
    }
  });
});

describe('transport errors: 400', () => {
  const valid = { subject: alice, action: read, resource: record1 };
  const malformed: [string, Json][] = [
    ['a missing subject', { action: read, resource: record1 }],
    ['a missing action', { subject: alice, resource: record1 }],
    ['a missing resource', { subject: alice, action: read }],
    ['a subject without type', { ...valid, subject: { id: 'alice' } }],
    ['a subject without id', { ...valid, subject: { type: 'user' } }],
    ['a resource without type', { ...valid, resource: { id: 'record-1' } }],
    ['a resource without id', { ...valid, resource: { type: 'record' } }],
    ['an action without name', { ...valid, action: {} }],
    ['a subject that is a string', { ...valid, subject: 'alice' }],
    ['a name that is a number', { ...valid, action: { name: 123 } }],
    ['properties that are not an object', { ...valid, subject: { ...alice, properties: 'admin' } }],
  ];

  it.each(malformed)('evaluation: %s', async (_name, body) => {
    const res = await post('/access/v1/evaluation', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
  });

  it.each([
    ['malformed JSON', '{"subject":', 'application/json'],
    ['an empty body', '', 'application/json'],
    ['a non-JSON content type', JSON.stringify(valid), 'text/plain'],
    ['XML', '<subject/>', 'application/xml'],
  ])('every endpoint: %s', async (_name, body, type) => {
    for (const path of [
      '/access/v1/evaluation',
      '/access/v1/evaluations',
      '/access/v1/search/subject',
      '/access/v1/search/resource',
      '/access/v1/search/action',
    ]) {
      const res = await raw(path, body, { 'content-type': type });
      expect([path, res.status]).toEqual([path, 400]);
    }
  });

  it.each([
    ['evaluations: a subject that is a string', '/access/v1/evaluations', { subject: 'alice', evaluations: [{}] }],
    ['evaluations: evaluations that is not a list', '/access/v1/evaluations', { ...valid, evaluations: {} }],
    ['evaluations: a single evaluation missing its action', '/access/v1/evaluations', { subject: alice }],
    ['subject search: no subject type', '/access/v1/search/subject', { subject: {}, action: read, resource: record1 }],
    ['subject search: no action', '/access/v1/search/subject', { subject: { type: 'user' }, resource: record1 }],
    ['resource search: no resource type', '/access/v1/search/resource', { subject: alice, action: read, resource: {} }],
    [
      'resource search: a subject without id',
      '/access/v1/search/resource',
      { subject: { type: 'user' }, action: read, resource: { type: 'record' } },
    ],
    ['action search: no resource', '/access/v1/search/action', { subject: alice }],
    [
      'action search: a name that is a number in the subject',
      '/access/v1/search/action',
      { subject: { type: 1, id: 'a' }, resource: record1 },
    ],
  ])('%s', async (_name, path, body) => {
    expect((await post(path, body)).status).toBe(400);
  });
});

describe('Batch: access evaluations', () => {
  it.each(CONTEXTS)(
    'Core and Properties: the eight decisions as one batch, in request order, %s',
    async (_n, context) => {
      const res = await post('/access/v1/evaluations', {
        ...(context ? { context } : {}),
        evaluations: EIGHT.map(([, request]) => request),
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ evaluations: EIGHT.map(([, , decision]) => ({ decision })) });
    },
  );

  it('Properties (default merging): items take the defaults they do not give', async () => {
    const res = await post('/access/v1/evaluations', {
      subject: alice,
      action: write,
      resource: record1,
      evaluations: [
        {},
        { resource: archivedRecord2 },
        { subject: adminBob, resource: archivedRecord2 },
        { subject: bob },
      ],
    });
    expect(res.body.evaluations).toEqual([
      { decision: true },
      { decision: false },
      { decision: true },
      { decision: false },
    ]);
  });

  it("an item's entity, action or context replaces the default whole: no merging of sub-fields", async () => {
    // zoe is not stored: the request describes her. As a default she is an administrator; an item
    // naming her without properties describes a user without a role.
    const zoe = { type: 'user', id: 'zoe' };
    const entities = await post('/access/v1/evaluations', {
      subject: { ...zoe, properties: { role: 'admin' } },
      action: write,
      resource: archivedRecord2,
      evaluations: [{}, { subject: zoe }],
    });
    expect(entities.body.evaluations).toEqual([{ decision: true }, { decision: false }]);
    const actions = await post('/access/v1/evaluations', {
      subject: alice,
      action: softDelete,
      resource: record1,
      evaluations: [{}, { action: { name: 'delete' } }],
    });
    expect(actions.body.evaluations).toEqual([{ decision: true }, { decision: false }]);
    const contexts = await post('/access/v1/evaluations', {
      subject: alice,
      action: { name: 'delete' },
      resource: record1,
      context: { soft: true },
      evaluations: [{}, { context: { time: '2026-11-24T10:00:00Z' } }],
    });
    expect(contexts.body.evaluations).toEqual([{ decision: true }, { decision: false }]);
  });

  it("an invalid item under execute_all is that item's decision: false, and the batch a 200", async () => {
    for (const options of [undefined, { evaluations_semantic: 'execute_all' }]) {
      const res = await post('/access/v1/evaluations', {
        subject: alice,
        action: read,
        ...(options ? { options } : {}),
        evaluations: [
          { resource: record1 },
          { resource: 'record-1' },
          { resource: { type: 'record' } },
          { resource: record2 },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body.evaluations.map((e: { decision: boolean }) => e.decision)).toEqual([true, false, false, true]);
      expect(res.body.evaluations[1].context).toEqual(expect.objectContaining({ error: expect.any(Object) }));
    }
  });

  it('evaluations: [] or no evaluations is a single evaluation, answered as { decision }', async () => {
    for (const [, request, expected] of EIGHT) {
      for (const body of [request, { ...request, evaluations: [] }]) {
        const res = await post('/access/v1/evaluations', body);
        expect(res.status).toBe(200);
        expect(res.body.decision).toBe(expected);
        expect(res.body).not.toHaveProperty('evaluations');
      }
    }
  });

  it('deny_on_first_deny and permit_on_first_permit end the list at the deciding item', async () => {
    const items = [{ action: read }, { action: write }, { action: hardDelete }, { action: softDelete }];
    const deny = await post('/access/v1/evaluations', {
      subject: bob,
      resource: record1,
      options: { evaluations_semantic: 'deny_on_first_deny' },
      evaluations: items,
    });
    expect(deny.body.evaluations).toEqual([{ decision: true }, { decision: false }]);
    const permit = await post('/access/v1/evaluations', {
      subject: alice,
      resource: record1,
      options: { evaluations_semantic: 'permit_on_first_permit' },
      evaluations: [items[2], items[3], items[0]],
    });
    expect(permit.body.evaluations).toEqual([{ decision: false }, { decision: true }]);
  });
});

describe('Search', () => {
  const ids = (body: { results: { id: string }[] }) => body.results.map((r) => r.id);
  const names = (body: { results: { name: string }[] }) => body.results.map((r) => r.name);

  it('Core: subject, resource and action search', async () => {
    const subjects = await post('/access/v1/search/subject', {
      subject: { type: 'user' },
      action: read,
      resource: record1,
    });
    expect(ids(subjects.body)).toEqual(expect.arrayContaining(['alice', 'bob']));
    const resources = await post('/access/v1/search/resource', {
      subject: alice,
      action: read,
      resource: { type: 'record' },
    });
    expect(ids(resources.body)).toContain('record-1');
    const actions = await post('/access/v1/search/action', { subject: alice, resource: record1 });
    expect(names(actions.body)).toEqual(expect.arrayContaining(['read', 'write']));
  });

  it('Properties: subject, resource and action search', async () => {
    const subjects = await post('/access/v1/search/subject', {
      subject: { type: 'user' },
      action: write,
      resource: archivedRecord2,
    });
    expect(ids(subjects.body)).toContain('bob');
    const resources = await post('/access/v1/search/resource', {
      subject: adminBob,
      action: write,
      resource: { type: 'record' },
    });
    expect(ids(resources.body)).toContain('record-2');
    const actions = await post('/access/v1/search/action', { subject: adminBob, resource: archivedRecord2 });
    expect(names(actions.body)).toContain('write');
  });

  it('results are entities ({ type, id }) or actions ({ name }), and every one holds when evaluated', async () => {
    const subjects = await post('/access/v1/search/subject', {
      subject: { type: 'user' },
      action: read,
      resource: record1,
    });
    for (const r of subjects.body.results) {
      expect(Object.keys(r).sort()).toEqual(['id', 'type']);
      expect((await post('/access/v1/evaluation', { subject: r, action: read, resource: record1 })).body.decision).toBe(
        true,
      );
    }
    const resources = await post('/access/v1/search/resource', {
      subject: adminBob,
      action: write,
      resource: { type: 'record' },
    });
    for (const r of resources.body.results) {
      expect(Object.keys(r).sort()).toEqual(['id', 'type']);
      expect(
        (await post('/access/v1/evaluation', { subject: adminBob, action: write, resource: r })).body.decision,
      ).toBe(true);
    }
    const actions = await post('/access/v1/search/action', { subject: alice, resource: record1 });
    for (const r of actions.body.results) {
      expect(Object.keys(r)).toEqual(['name']);
      expect(
        (await post('/access/v1/evaluation', { subject: alice, action: r, resource: record1 })).body.decision,
      ).toBe(true);
    }
  });

  it('pages through page.next_token, empty at the end, losing and repeating nothing', async () => {
    for (const [path, body] of [
      ['/access/v1/search/subject', { subject: { type: 'user' }, action: read, resource: record1 }],
      ['/access/v1/search/resource', { subject: alice, action: read, resource: { type: 'record' } }],
      ['/access/v1/search/action', { subject: alice, resource: record1 }],
    ] as const) {
      const whole = await post(path, body);
      expect(whole.body.page.next_token).toBe('');
      const paged: unknown[] = [];
      let token = '';
      for (let pages = 0; pages < 10; pages++) {
        const res = await post(path, { ...body, page: { limit: 1, ...(token ? { token } : {}) } });
        paged.push(...res.body.results);
        token = res.body.page.next_token;
        if (token === '') break;
      }
      expect([path, paged]).toEqual([path, whole.body.results]);
    }
  });
});

describe('Discovery', () => {
  it('the metadata is absolute and names where each endpoint is served', async () => {
    const res = await fetch(`${server.url}/.well-known/authzen-configuration`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const meta = (await res.json()) as Record<string, string>;
    expect(meta.policy_decision_point).toBe(server.url);
    const requests: Record<string, Json> = {
      access_evaluation_endpoint: CORE[0]![1],
      access_evaluations_endpoint: { evaluations: [CORE[0]![1]] },
      search_subject_endpoint: { subject: { type: 'user' }, action: read, resource: record1 },
      search_resource_endpoint: { subject: alice, action: read, resource: { type: 'record' } },
      search_action_endpoint: { subject: alice, resource: record1 },
    };
    expect(Object.keys(meta).sort()).toEqual(['policy_decision_point', ...Object.keys(requests)].sort());
    for (const [key, body] of Object.entries(requests)) {
      const url = new URL(meta[key]!);
      expect(url.origin).toBe(server.url);
      const answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect([key, answer.status]).toEqual([key, 200]);
    }
  });
});
