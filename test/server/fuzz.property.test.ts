// Random and mutated bodies against a real listening sidecar that logs every request it decides
// (--log-requests), and bodies nested thousands deep or thousands wide on every route (680 in all in
// `npm test`, 34,000 in `npm run test:deep`): never a 500, never an allow that the engine would not give
// for a well-formed request, always the error envelope on a 4xx, every decision answered in the log.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizeRequestSchema, authorize } from '../../engine/index.js';
import { MAX_BODY_DEPTH } from '../../server/body/parse-json-body.js';
import { queryDecisions } from '../../server/decision-log/decision-log.js';
import { depth } from '../support/depth.js';
import { requestArb } from '../support/fleet-arbitraries.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const RUNS = {
  authorize: depth(240, 12_000),
  batch: depth(160, 8000),
  authzen: depth(120, 6000),
  others: depth(80, 4000),
  deepAndWide: depth(80, 4000),
};

const BODY_LIMIT = 16 * 1024;
let server: TestServer;
beforeAll(async () => {
  // A decision thread, as a sidecar has by default: batches are parsed, decided and logged there.
  server = await startTestServer({
    bodyLimit: BODY_LIMIT,
    logRequests: true,
    provisionRateLimit: 1_000_000,
    decisionThreads: 1,
  });
});
afterAll(() => server.stop());

/** A valid request, then zero or more mutations: drop a key, replace a value with random JSON, retype. */
const mutatedRequest = fc
  .tuple(
    requestArb(),
    fc.array(
      fc.record({
        path: fc.array(
          fc.constantFrom(
            'principal',
            'resource',
            'action',
            'context',
            'type',
            'id',
            'attributes',
            'fleet',
            'ip',
            'time',
            'adminOf',
            'expiresAt',
            'allowedCidrs',
          ),
          { minLength: 1, maxLength: 3 },
        ),
        op: fc.constantFrom('delete', 'replace'),
        value: fc.oneof(fc.jsonValue(), fc.string(), fc.constant(null), fc.constant('__proto__'), fc.integer()),
      }),
      { maxLength: 3 },
    ),
  )
  .map(([req, mutations]) => {
    const body: any = structuredClone(req);
    for (const { path, op, value } of mutations) {
      let target = body;
      for (const key of path.slice(0, -1)) {
        if (target === null || typeof target !== 'object') break;
        target = target[key];
      }
      if (target === null || typeof target !== 'object') continue;
      const last = path[path.length - 1]!;
      if (op === 'delete') delete target[last];
      else target[last] = value;
    }
    return JSON.stringify(body);
  });

const body = fc.oneof(
  { weight: 5, arbitrary: mutatedRequest },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: mutatedRequest.chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))) },
  {
    weight: 1,
    // Over the body limit (a long random string is slow to generate, and its content does not matter).
    arbitrary: fc
      .tuple(fc.integer({ min: 17_000, max: 20_000 }), fc.string({ maxLength: 8 }))
      .map(([n, s]) => JSON.stringify({ principal: s.padEnd(n, 'x') })),
  },
);

async function send(path: string, text: string): Promise<{ status: number; json: any }> {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: text,
  });
  return { status: res.status, json: await res.json() };
}

function checkResponse(status: number, json: any): void {
  expect([200, 400, 413]).toContain(status);
  if (status !== 200) {
    expect(json.error.code).toEqual(expect.any(String));
    expect(json.error.message).toEqual(expect.any(String));
  }
}

describe('fuzzing the sidecar over HTTP', () => {
  it(`POST /v1/authorize: ${RUNS.authorize} bodies`, async () => {
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const { status, json } = await send('/v1/authorize', text);
        checkResponse(status, json);
        if (status === 200) {
          // Only a well-formed request gets a decision, and the decision is the engine's.
          const parsed = AuthorizeRequestSchema.safeParse(JSON.parse(text));
          expect(parsed.success).toBe(true);
          const local = authorize(server.policies.engine!.policySet, parsed.data!, Date.now(), 'local');
          expect(json.allowed).toBe(local.allowed);
          expect(json.decision).toBe(local.allowed ? 'allow' : 'deny');
        }
      }),
      { numRuns: RUNS.authorize },
    );
  });

  it(`POST /v1/authorize/batch: ${RUNS.batch} bodies`, async () => {
    const batch = fc
      .array(
        fc.oneof(
          mutatedRequest,
          requestArb().map((r) => JSON.stringify(r)),
        ),
        { minLength: 0, maxLength: 5 },
      )
      .map((items) => `{"requests":[${items.join(',')}]}`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(batch, body), async (text) => {
        const { status, json } = await send('/v1/authorize/batch', text);
        checkResponse(status, json);
        if (status === 200) {
          const { requests } = JSON.parse(text) as { requests: unknown[] };
          expect(json.results).toHaveLength(requests.length);
          json.results.forEach((d: { allowed: boolean }, i: number) => {
            const req = AuthorizeRequestSchema.parse(requests[i]);
            expect(d.allowed).toBe(authorize(server.policies.engine!.policySet, req, Date.now(), 'local').allowed);
          });
        }
      }),
      { numRuns: RUNS.batch },
    );
  });

  it(`the AuthZEN endpoints: ${RUNS.authzen} bodies, never a 500`, async () => {
    const entity = fc.record({
      type: fc.oneof(fc.constantFrom('user', 'device', 'fleet', 'release'), fc.string()),
      id: fc.oneof(fc.string(), fc.integer()),
      properties: fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: undefined }),
    });
    const az = fc.record(
      {
        subject: fc.oneof(entity, fc.jsonValue()),
        action: fc.oneof(
          fc.record({ name: fc.oneof(fc.constantFrom('read', 'register'), fc.string(), fc.integer()) }),
          fc.jsonValue(),
        ),
        resource: fc.oneof(entity, fc.jsonValue()),
        context: fc.option(fc.jsonValue(), { nil: undefined }),
        evaluations: fc.option(fc.array(fc.oneof(fc.record({ resource: entity }), fc.jsonValue()), { maxLength: 4 }), {
          nil: undefined,
        }),
        options: fc.option(
          fc.record({
            evaluations_semantic: fc.oneof(
              fc.constantFrom('execute_all', 'deny_on_first_deny', 'permit_on_first_permit'),
              fc.string(),
            ),
          }),
          { nil: undefined },
        ),
        page: fc.option(fc.record({ limit: fc.integer(), token: fc.string() }), { nil: undefined }),
      },
      { requiredKeys: [] },
    );
    const paths = [
      '/access/v1/evaluation',
      '/access/v1/evaluations',
      '/access/v1/search/subject',
      '/access/v1/search/resource',
      '/access/v1/search/action',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.oneof(
          az.map((b) => JSON.stringify(b)),
          fc.string(),
        ),
        async (path, text) => {
          const { status, json } = await send(path, text);
          checkResponse(status, json);
        },
      ),
      { numRuns: RUNS.authzen },
    );
  });

  it(`plans, client rules and provisioning: ${RUNS.others} bodies, never a 500`, async () => {
    const body = fc.oneof(
      requestArb().map((r) => ({
        principal: r.principal,
        action: r.action,
        resourceType: r.resource.type,
        context: r.context,
      })),
      fc.record(
        {
          provisioningKey: fc.oneof(
            fc.string(),
            fc.constant('fg.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
          ),
          deviceId: fc.oneof(fc.string(), fc.integer()),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/plan', '/v1/rules', '/v1/provision'), body, async (path, b) => {
        const res = await fetch(server.url + path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(b),
        });
        expect([200, 400, 403, 413, 429]).toContain(res.status);
        const json = await res.json();
        if (res.status >= 400) expect(json.error.code).toEqual(expect.any(String));
      }),
      { numRuns: RUNS.others },
    );
  });

  it(`deep and wide bodies on every route: ${RUNS.deepAndWide} bodies, never a 500, every decision logged`, async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const key = await server.post(
      '/v1/admin/provisioning-keys',
      { fleet: 'f-1', organization: 'o-1', expiresAt: '2099-01-01T00:00:00Z' },
      admin,
    );
    expect(key.status).toBe(201);
    const device = { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
    const release = { type: 'release', id: 'r-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
    const request = { principal: device, action: 'read', resource: release, context: {} };
    const azSubject = { type: 'device', id: 'd-1', properties: { fleet: 'f-1', organization: 'o-1' } };
    const azResource = { type: 'release', id: 'r-1', properties: { fleet: 'f-1', organization: 'o-1' } };
    /** Every POST route: a valid body, the places a free-form value may stand, and what names its decisions. */
    const routes: {
      path: string;
      body: unknown;
      at: string[][];
      headers?: Record<string, string>;
      ids?: (json: any) => string[];
    }[] = [
      {
        path: '/v1/authorize',
        body: request,
        at: [['principal', 'attributes', 'x'], ['resource', 'attributes', 'x'], ['context', 'x'], ['x']],
        ids: (json) => (json.decisionId ? [json.decisionId] : []),
      },
      {
        path: '/v1/authorize/batch',
        body: { requests: [request, request] },
        at: [['requests', '1', 'context', 'x'], ['requests', '0', 'resource', 'attributes', 'x'], ['requests']],
        ids: (json) => json.results?.map((r: { decisionId: string }) => r.decisionId) ?? [],
      },
      {
        path: '/v1/plan',
        body: { principal: device, action: 'read', resourceType: 'release', context: {} },
        at: [['principal', 'attributes', 'x'], ['context', 'x'], ['columns']],
      },
      {
        path: '/v1/rules',
        body: { principal: device, context: {} },
        at: [
          ['principal', 'attributes', 'x'],
          ['context', 'x'],
        ],
      },
      {
        path: '/v1/provision',
        body: { provisioningKey: key.body.key, deviceId: 'dev-0', metadata: {} },
        at: [['metadata', 'x'], ['metadata'], ['x']],
        ids: (json) => (json.decisionId ? [json.decisionId] : []),
      },
      {
        path: '/access/v1/evaluation',
        body: { subject: azSubject, action: { name: 'read' }, resource: azResource, context: {} },
        at: [
          ['subject', 'properties', 'x'],
          ['resource', 'properties', 'x'],
          ['action', 'properties', 'x'],
          ['context', 'x'],
        ],
        ids: (json) => (json.context?.decision_id ? [json.context.decision_id] : []),
      },
      {
        path: '/access/v1/evaluations',
        body: { subject: azSubject, action: { name: 'read' }, evaluations: [{ resource: azResource }, {}] },
        at: [['subject', 'properties', 'x'], ['evaluations', '0', 'resource', 'properties', 'x'], ['evaluations']],
      },
      {
        path: '/access/v1/search/subject',
        body: { subject: { type: 'user' }, action: { name: 'read' }, resource: azResource },
        at: [
          ['resource', 'properties', 'x'],
          ['context', 'x'],
        ],
      },
      {
        path: '/access/v1/search/resource',
        body: { subject: azSubject, action: { name: 'read' }, resource: { type: 'release' } },
        at: [
          ['subject', 'properties', 'x'],
          ['context', 'x'],
        ],
      },
      {
        path: '/access/v1/search/action',
        body: { subject: azSubject, resource: azResource },
        at: [
          ['subject', 'properties', 'x'],
          ['resource', 'properties', 'x'],
        ],
      },
      {
        path: '/v1/admin/entities',
        body: { entities: [{ type: 'fleet', id: 'f-fuzz', attributes: { organization: 'o-1' } }] },
        at: [['entities', '0', 'attributes', 'x'], ['entities']],
        headers: admin,
      },
      {
        path: '/v1/admin/users',
        body: { users: [{ id: 'u-fuzz', memberOf: ['o-1'] }] },
        at: [['users', '0', 'memberOf'], ['users']],
        headers: admin,
      },
      {
        path: '/v1/admin/provisioning-keys',
        body: { fleet: 'f-1', organization: 'o-1', expiresAt: '2099-01-01T00:00:00Z' },
        at: [['x'], ['allowedCidrs']],
        headers: admin,
      },
    ];

    // Values are made as JSON text: JSON.stringify itself overflows a few thousand levels down.
    const scalar = fc
      .oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean(), fc.constant(null))
      .map((v) => JSON.stringify(v));
    /** Nested `levels` deep in objects and arrays, straddling the bound more often than not. */
    const deep = fc
      .tuple(
        fc.oneof(
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: MAX_BODY_DEPTH - 10, max: MAX_BODY_DEPTH + 10 }),
          fc.integer({ min: 1, max: 6000 }),
        ),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        scalar,
      )
      .map(([levels, kinds, leaf]) => {
        const open: string[] = [];
        const close: string[] = [];
        for (let i = 0; i < levels; i++) {
          const array = kinds[i % kinds.length];
          open.push(array ? '[' : '{"a":');
          close.push(array ? ']' : '}');
        }
        return open.join('') + leaf + close.reverse().join('');
      });
    /** Thousands of keys or items, small ones or deep ones. */
    const wide = fc.oneof(
      fc.tuple(fc.integer({ min: 100, max: 2500 }), scalar).map(([n, v]) => `[${Array(n).fill(v).join(',')}]`),
      fc
        .tuple(fc.integer({ min: 100, max: 1500 }), scalar)
        .map(([n, v]) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${v}`).join(',')}}`),
      fc.tuple(fc.integer({ min: 2, max: 20 }), deep).map(([n, v]) => `[${Array(n).fill(v).join(',')}]`),
    );
    const MARK = '$value$';
    const put = (body: unknown, path: string[], value: string): string => {
      const copy = structuredClone(body) as Record<string, any>;
      let target = copy;
      for (const k of path.slice(0, -1)) target = target[k] ??= {};
      target[path[path.length - 1]!] = MARK;
      return JSON.stringify(copy).replace(JSON.stringify(MARK), () => value); // a function: `$&` in value is text
    };
    const depthOf = (value: unknown): number => {
      let max = 0;
      const stack: [unknown, number][] = [[value, 1]];
      while (stack.length > 0) {
        const [v, d] = stack.pop()!;
        if (v === null || typeof v !== 'object') continue;
        max = Math.max(max, d);
        for (const x of Object.values(v)) stack.push([x, d + 1]);
      }
      return max;
    };

    const decided: string[] = [];
    let devices = 0;
    const cases = fc
      .constantFrom(...routes)
      .chain((route) => fc.tuple(fc.constant(route), fc.constantFrom(...route.at), fc.oneof(deep, wide)));
    await fc.assert(
      fc.asyncProperty(cases, async ([route, at, value]) => {
        const base =
          route.path === '/v1/provision'
            ? { ...(route.body as object), deviceId: `dev-fuzz-${devices++}` }
            : route.body;
        const text = put(base, at, value);
        const res = await server.post(route.path, text, route.headers);
        expect([200, 201, 400, 403, 404, 409, 413, 429]).toContain(res.status);
        if (res.status >= 400) {
          expect(res.body.error.code).toEqual(expect.any(String));
          expect(res.body.error.message).toEqual(expect.any(String));
        }
        const tooDeep = depthOf(JSON.parse(text)) > MAX_BODY_DEPTH;
        if (Buffer.byteLength(text) <= BODY_LIMIT) {
          expect(res.body.error?.message?.includes(`deeper than ${MAX_BODY_DEPTH}`) ?? false).toBe(tooDeep);
        }
        if (route.ids) decided.push(...route.ids(res.body));
      }),
      { numRuns: RUNS.deepAndWide },
    );
    // Every decision answered is in the decision log, with the request it decided.
    await server.decisionLog.drain();
    const logged = new Map(queryDecisions(server.db, { limit: 1_000_000 }).map((d) => [d.decisionId, d]));
    expect(decided.length).toBeGreaterThan(RUNS.deepAndWide / 20);
    for (const id of decided) expect(logged.get(id)?.request).toBeDefined();
  });
});
