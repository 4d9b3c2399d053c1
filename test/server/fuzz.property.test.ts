// Random and mutated bodies against a real listening sidecar (1,500 in `npm test`, 30,000 in
// `npm run test:deep`): never a 500, never an allow that the engine would not give for a well-formed
// request, always the error envelope on a 4xx.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizeRequestSchema, authorize } from '../../engine/index.js';
import { depth } from '../support/depth.js';
import { requestArb } from '../support/fleet-arbitraries.js';
import { startTestServer, type TestServer } from '../support/server.js';

const RUNS = {
  authorize: depth(600, 12_000),
  batch: depth(400, 8000),
  authzen: depth(300, 6000),
  others: depth(200, 4000),
};

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ bodyLimit: 16 * 1024 });
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
    arbitrary: fc.string({ minLength: 17_000, maxLength: 20_000 }).map((s) => JSON.stringify({ principal: s })),
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
});
