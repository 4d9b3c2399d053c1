// Fail closed over HTTP: whatever the service does instead of answering (refuse, hang, 5xx, garbage),
// every call resolves, decisions are denies that say why with the error attached, and retries happen
// only where safe, within a budget. Against a stub that misbehaves on purpose.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, UNREACHABLE, type AuthorizeRequest, type FleetguardClient } from '../../client/client.js';
import { closedPort, echo, echoDecision, startStubPdp, type StubHandler, type StubPdp } from '../support/stub-pdp.js';

const request = (fleet: string, id = `r-${fleet}`): AuthorizeRequest => ({
  principal: { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
  action: 'read',
  resource: { type: 'release', id, attributes: { fleet, organization: 'o-1' } },
});
const allowRequest = request('f-1');

let stubs: StubPdp[] = [];
let clients: FleetguardClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(stubs.map((s) => s.close()));
  stubs = [];
  clients = [];
});
async function stub(handle?: StubHandler): Promise<StubPdp> {
  const s = await startStubPdp(handle);
  stubs.push(s);
  return s;
}
function client(url: string, options: { timeoutMs?: number; maxBatch?: number; batchWindowMs?: number } = {}) {
  const c = createClient({ url, timeoutMs: 30_000, ...options });
  clients.push(c);
  return c;
}
const json =
  (status: number, body: unknown): StubHandler =>
  (_req, res) =>
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(typeof body === 'string' ? body : JSON.stringify(body));

const FAULTS: [string, () => Promise<string>][] = [
  ['a refused connection', closedPort],
  ['no answer before the timeout', async () => (await stub(() => {})).url],
  ['a 500', async () => (await stub(json(500, { error: { code: 'internal', message: 'boom' } }))).url],
  ['a 503 every time', async () => (await stub(json(503, { error: { code: 'not_ready', message: 'loading' } }))).url],
  ['an answer that is not JSON', async () => (await stub(json(200, '{"decision":"allow",'))).url],
  ['JSON of another shape', async () => (await stub(json(200, { ok: true, results: 'yes' }))).url],
  [
    'a batch answer with one decision too few',
    async () =>
      (
        await stub((req, res) =>
          req.path === '/v1/authorize/batch'
            ? json(200, { results: req.body.requests.slice(1).map(echoDecision) })(req, res)
            : json(200, 'null')(req, res),
        )
      ).url,
  ],
  [
    'a decision whose fields disagree (allowed but "deny")',
    async () => (await stub(json(200, { ...echoDecision(allowRequest), decision: 'deny', allowed: true }))).url,
  ],
  ['a connection closed before the answer', async () => (await stub((_req, res) => res.socket?.destroy())).url],
];

describe('when the service cannot answer, the client fails closed', () => {
  it.each(FAULTS)('%s: every call resolves to a deny saying why', async (_name, start) => {
    const c = client(await start(), { timeoutMs: 300 });
    const [one, many, allowed, plan, rules, evaluation, evaluations, search] = await Promise.all([
      c.authorize(allowRequest),
      c.authorizeMany([allowRequest, allowRequest, request('f-2')]),
      c.isAllowed(allowRequest),
      c.plan({ principal: allowRequest.principal as never, action: 'read', resourceType: 'release' }),
      c.rules({ principal: allowRequest.principal as never }),
      c.evaluation({
        subject: { type: 'device', id: 'd-1' },
        action: { name: 'read' },
        resource: { type: 'r', id: 'x' },
      }),
      c.evaluations({
        subject: { type: 'device', id: 'd-1' },
        action: { name: 'read' },
        evaluations: [{ resource: { type: 'r', id: 'x' } }, { resource: { type: 'r', id: 'y' } }],
      }),
      c.resourceSearch({ subject: { type: 'device', id: 'd-1' }, action: { name: 'read' }, resource: { type: 'r' } }),
    ]);
    for (const d of [one, ...many]) {
      expect(d).toMatchObject({ decision: 'deny', allowed: false, matched: [], errors: [{ code: 'unreachable' }] });
      expect(d.reason).toMatch(new RegExp(`^${UNREACHABLE}: `));
      expect(d.error).toBeInstanceOf(Error);
      expect(d.decisionId).not.toBe('');
    }
    expect(allowed).toBe(false);
    expect(plan).toMatchObject({ kind: 'always_denied', sql: { where: '1 = 0', params: [] } });
    expect(plan.reason).toMatch(new RegExp(`^${UNREACHABLE}: `));
    expect(rules).toMatchObject({ rules: [] });
    expect(evaluation).toMatchObject({ decision: false, context: { reason: expect.stringMatching(UNREACHABLE) } });
    expect(evaluations.evaluations.map((e) => e.decision)).toEqual([false, false]);
    expect(search.results).toEqual([]);
  });

  it('allows only what a well-formed allow decision says, whatever else comes back', async () => {
    const wellFormed = echoDecision(allowRequest);
    const body = fc.oneof(
      fc.constant(wellFormed),
      fc.constant({ ...echoDecision(request('f-2')) }),
      // one field dropped, or given another value
      fc.constantFrom(...Object.keys(wellFormed)).map((k) => ({ ...wellFormed, [k]: undefined })),
      fc
        .tuple(fc.constantFrom(...Object.keys(wellFormed)), fc.jsonValue())
        .map(([k, v]) => ({ ...wellFormed, [k]: v })),
      fc.jsonValue(),
    );
    const answer = fc.record({ status: fc.constantFrom(200, 200, 200, 400, 404, 500, 503), body });
    const s = await stub();
    const c = client(s.url);
    await fc.assert(
      fc.asyncProperty(answer, async ({ status, body }) => {
        s.handle = json(status, body);
        const d = await c.authorize(allowRequest);
        const expectAllow =
          status === 200 &&
          body !== null &&
          typeof body === 'object' &&
          (body as Record<string, unknown>).decision === 'allow' &&
          (body as Record<string, unknown>).allowed === true &&
          typeof (body as Record<string, unknown>).decisionId === 'string' &&
          typeof (body as Record<string, unknown>).policyRevision === 'string' &&
          Array.isArray((body as Record<string, unknown>).matched);
        expect(d.allowed).toBe(expectAllow);
        expect(d.decision).toBe(expectAllow ? 'allow' : 'deny');
      }),
      { numRuns: 40 },
    );
  });
});

describe('retries', () => {
  it('retries a 503 (not ready yet) and a connection closed before any answer, then decides', async () => {
    for (const fault of [
      json(503, { error: { code: 'not_ready', message: 'loading' } }),
      ((_req, res) => res.socket?.destroy()) as StubHandler,
    ]) {
      let first = true;
      const s = await stub((req, res) => {
        if (first) {
          first = false;
          return fault(req, res);
        }
        echo(req, res);
      });
      const d = await client(s.url).authorize(allowRequest);
      expect(d.allowed).toBe(true);
      expect(s.requests).toHaveLength(2);
    }
  });

  it('does not retry what trying again cannot cure: a 500, a 400, a timeout', async () => {
    for (const [handle, timeoutMs] of [
      [json(500, { error: { code: 'internal', message: 'boom' } }), 30_000],
      [json(400, { error: { code: 'invalid_request', message: 'no' } }), 30_000],
      [() => {}, 200],
    ] as [StubHandler, number][]) {
      const s = await stub(handle);
      const d = await client(s.url, { timeoutMs }).authorize(allowRequest);
      expect(d.allowed).toBe(false);
      expect(s.requests).toHaveLength(1);
    }
  });

  it('keeps retries within a budget while the service stays down', async () => {
    const s = await stub(json(503, { error: { code: 'not_ready', message: 'loading' } }));
    const c = client(s.url);
    const calls = 40;
    for (let i = 0; i < calls; i++) expect(await c.isAllowed(allowRequest)).toBe(false);
    // Three attempts a call would be 120 requests; the budget allows 10 at first and a fifth of a retry a call.
    expect(s.requests.length).toBeGreaterThan(calls);
    expect(s.requests.length).toBeLessThanOrEqual(calls + 10 + calls * 0.2);
  });
});

describe('connections and batches', () => {
  it('reuses a keep-alive connection for calls one after another', async () => {
    const s = await stub();
    const c = client(s.url);
    for (let i = 0; i < 20; i++) expect(await c.isAllowed(allowRequest)).toBe(true);
    expect(s.requests).toHaveLength(20);
    expect(s.connections).toBe(1);
  });

  it('sends the calls of one tick as batches of at most maxBatch, each caller getting its own decision', async () => {
    const s = await stub();
    const c = client(s.url, { maxBatch: 100 });
    const requests = Array.from({ length: 250 }, (_, i) => request(i % 2 ? 'f-1' : 'f-2', `r-${i}`));
    const decisions = await Promise.all(requests.map((r) => c.authorize(r)));
    expect(decisions.map((d) => d.decisionId)).toEqual(requests.map((r) => `id-${r.resource.id}`));
    expect(decisions.map((d) => d.allowed)).toEqual(requests.map((_, i) => i % 2 === 1));
    expect(s.requests.map((r) => [r.path, r.body.requests?.length])).toEqual([
      ['/v1/authorize/batch', 100],
      ['/v1/authorize/batch', 100],
      ['/v1/authorize/batch', 50],
    ]);
  });

  it('sends a lone call to /v1/authorize, and every call alone with maxBatch 1', async () => {
    const s = await stub();
    await client(s.url).authorize(allowRequest);
    await Promise.all([1, 2, 3].map(() => client(s.url, { maxBatch: 1 }).authorize(allowRequest)));
    expect(s.requests.map((r) => r.path)).toEqual(Array(4).fill('/v1/authorize'));
  });

  it('joins calls made across ticks within batchWindowMs', async () => {
    const s = await stub();
    // A window no busy machine outlasts, and a batch of two that leaves as soon as the second call joins:
    // with a 50 ms window a loaded machine ran the second call after the first had left alone.
    const c = client(s.url, { batchWindowMs: 60_000, maxBatch: 2 });
    const first = c.authorize(request('f-1', 'a'));
    await new Promise((r) => setImmediate(r));
    const second = c.authorize(request('f-1', 'b'));
    expect((await Promise.all([first, second])).map((d) => d.decisionId)).toEqual(['id-a', 'id-b']);
    expect(s.requests.map((r) => r.body.requests?.length)).toEqual([2]);
  });

  it('denies only the request a batch was refused for, and splits a batch the service finds too large', async () => {
    const s = await stub((req, res) => {
      const items = req.body.requests as AuthorizeRequest[] | undefined;
      const bad = items?.findIndex((r) => r.action === 'fly') ?? -1;
      if (bad >= 0)
        return json(400, {
          error: { code: 'unknown_action', message: 'unknown action `fly`', path: `requests.${bad}.action` },
        })(req, res);
      if (items && items.length > 4)
        return json(400, { error: { code: 'batch_too_large', message: 'too many', path: 'requests' } })(req, res);
      echo(req, res);
    });
    const c = client(s.url);
    const requests = Array.from({ length: 10 }, (_, i) =>
      i === 3 ? { ...request('f-1', 'r-3'), action: 'fly' } : request('f-1', `r-${i}`),
    );
    const decisions = await Promise.all(requests.map((r) => c.authorize(r)));
    expect(decisions.map((d) => d.allowed)).toEqual(requests.map((_, i) => i !== 3));
    expect(decisions[3]).toMatchObject({ errors: [{ code: 'unknown_action', message: 'unknown action `fly`' }] });
    expect(decisions[3]!.error).toMatchObject({ path: 'action' });
  });

  it('sends the token as a bearer token', async () => {
    const s = await stub();
    const c = createClient({ url: s.url, token: 'sekrit-token-0123456789', timeoutMs: 30_000 });
    clients.push(c);
    await c.authorize(allowRequest);
    expect(s.requests[0]!.headers.authorization).toBe('Bearer sekrit-token-0123456789');
  });

  it('denies every call after close', async () => {
    const s = await stub();
    const c = createClient({ url: s.url });
    await c.close();
    const d = await c.authorize(allowRequest);
    expect(d.allowed).toBe(false);
    expect(d.reason).toBe(`${UNREACHABLE}: the client is closed`);
    expect(s.requests).toHaveLength(0);
  });
});
