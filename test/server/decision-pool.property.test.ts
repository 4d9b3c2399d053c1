// The batch route decides on a decision thread when it can, else on the request thread: the two paths
// must give the same answer to every body, valid or not, and a thread that dies must cost no request.
import type { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestArb } from '../support/fleet-arbitraries.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { defaultDecisionThreads, resolveConfig } from '../../server/config.js';
import { depth } from '../support/depth.js';
import { until } from '../support/wait.js';

const LIMIT = 12;
let pooled: TestServer;
let inline: TestServer;
let inlinePrefix: string;
/** The pooled server's thread restarts: the replacement starts when a test says, not after a second of a clock. */
const restarts: { restart: () => void; delayMs: number }[] = [];

/** Decision ids are a random per-thread prefix and a counter: the prefix says which thread decided. */
const prefixOf = (decisionId: string) => decisionId.slice(0, decisionId.lastIndexOf('-'));
const withoutIds = (body: any) =>
  Array.isArray(body?.results)
    ? { ...body, results: body.results.map(({ decisionId: _, ...rest }: any) => rest) }
    : body;

async function requestThreadPrefix(server: TestServer): Promise<string> {
  const single = await server.post('/v1/authorize', {
    principal: { type: 'support_agent', id: 's-0' },
    action: 'read',
    resource: { type: 'fleet', id: 'f-1' },
  });
  return prefixOf(single.body.decisionId);
}

beforeAll(async () => {
  pooled = await startTestServer({ decisionThreads: 1, batchLimit: LIMIT }, undefined, {
    scheduleThreadRestart: (restart, delayMs) => restarts.push({ restart, delayMs }),
  });
  inline = await startTestServer({ decisionThreads: 0, batchLimit: LIMIT });
  inlinePrefix = await requestThreadPrefix(pooled);
  await until('the thread compiles the policies (after the server starts)', () => pooled.pool!.status.loaded > 0);
  expect(pooled.pool!.status).toEqual({ running: 1, loaded: 1 });
});
afterAll(async () => {
  await pooled.stop();
  await inline.stop();
});

const items = fc.array(requestArb(), { minLength: 1, maxLength: LIMIT });
/** Valid batches, and the ways a batch goes wrong: bad JSON, bad shape, unknown names, keys, too many. */
const bodyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: items.map((requests) => JSON.stringify({ requests })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(items, fc.nat(), fc.constantFrom('action', 'principalType', 'resourceType'))
      .map(([requests, i, what]) => {
        const r = structuredClone(requests[i % requests.length]!) as any;
        if (what === 'action') r.action = 'teleport';
        else if (what === 'principalType') r.principal.type = 'robot';
        else r.resource.type = 'spaceship';
        requests[i % requests.length] = r;
        return JSON.stringify({ requests });
      }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(items, fc.nat()).map(([requests, i]) => {
      const r = { ...requests[i % requests.length]!, principal: { credential: 'fgk_nosuchkey.secret' } };
      return JSON.stringify({ requests: requests.map((x, j) => (j === i % requests.length ? r : x)) });
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(items, fc.nat(), fc.string({ maxLength: 3 })).map(([requests, at, junk]) => {
      const text = JSON.stringify({ requests });
      const cut = at % text.length;
      return text.slice(0, cut) + junk + text.slice(cut + 1);
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(requestArb(), { minLength: LIMIT + 1, maxLength: LIMIT + 3 })
      .map((requests) => JSON.stringify({ requests })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{}',
      '[]',
      'null',
      '{"requests":[]}',
      '{"requests":{}}',
      '{"__proto__":{"x":1},"requests":[]}',
    ),
  },
);

describe('batch decisions on a decision thread', () => {
  it('answer every body as the request thread does (status, errors, decisions, revision)', async () => {
    const runs = depth(60, 1500);
    let decidedByThread = 0;
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const [a, b] = await Promise.all([
          pooled.post('/v1/authorize/batch', body),
          inline.post('/v1/authorize/batch', body),
        ]);
        expect(a.status).toBe(b.status);
        expect(withoutIds(a.body)).toEqual(withoutIds(b.body));
        if (a.status === 200 && prefixOf(a.body.results[0].decisionId) !== inlinePrefix) decidedByThread++;
      }),
      { numRuns: runs },
    );
    expect(decidedByThread).toBeGreaterThan(runs / 4); // the thread really decided most valid batches
  });

  it('log and count what the thread decided', async () => {
    const requests = [
      {
        principal: { type: 'device', id: 'd-pool-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
        action: 'read',
        resource: { type: 'fleet', id: 'f-1' },
      },
    ];
    const res = await pooled.post('/v1/authorize/batch', { requests });
    expect(prefixOf(res.body.results[0].decisionId)).not.toBe(inlinePrefix);
    await pooled.decisionLog.drain();
    const row = pooled.db.prepare('SELECT id, outcome, matched FROM decisions WHERE principal_id = ?').get('d-pool-1');
    expect(row).toEqual({
      id: res.body.results[0].decisionId,
      outcome: 'allow',
      matched: res.body.results[0].matched.map((m: any) => m.rule).join(','),
    });
  });

  it('a batch naming a key comes back from the thread as data saying why, and the request thread decides it', async () => {
    const replies: unknown[] = [];
    const thread = (pooled.pool as unknown as { threads: { worker: Worker }[] }).threads[0]!.worker;
    const listen = (m: unknown) => replies.push(m);
    thread.on('message', listen);
    try {
      const requests = [
        { principal: { credential: 'fgk_nosuchkey.secret' }, action: 'read', resource: { type: 'fleet', id: 'f-1' } },
      ];
      const res = await pooled.post('/v1/authorize/batch', { requests });
      expect(res.status).toBe(200);
      expect(res.body.results[0]).toMatchObject({ decision: 'deny', reason: 'the credential is not valid' });
      expect(prefixOf(res.body.results[0].decisionId)).toBe(inlinePrefix);
      expect(replies).toEqual([{ kind: 'undecided', id: expect.any(Number), why: 'key store' }]);
    } finally {
      thread.off('message', listen);
    }
  });

  it('a thread that dies costs no request: the request thread decides until a new thread holds the set', async () => {
    // The pooled server, last of the tests on it: its thread dies here.
    const server = pooled;
    await until('the thread holds the policies', () => server.pool!.status.loaded > 0);
    const requests = [
      {
        principal: { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
        action: 'read',
        resource: { type: 'fleet', id: 'f-1' },
      },
    ];
    const before = await server.post('/v1/authorize/batch', { requests });
    const mainPrefix = await requestThreadPrefix(server);
    expect(prefixOf(before.body.results[0].decisionId)).not.toBe(mainPrefix);
    // Kill the thread with batches in flight.
    const inFlight = Array.from({ length: 20 }, () => server.post('/v1/authorize/batch', { requests }));
    await (
      server.pool as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }
    ).threads[0]!.worker.terminate();
    const answers = [...(await Promise.all(inFlight)), await server.post('/v1/authorize/batch', { requests })];
    for (const a of answers) expect(a).toMatchObject({ status: 200, body: { results: [{ decision: 'allow' }] } });
    expect(prefixOf(answers.at(-1)!.body.results[0].decisionId)).toBe(mainPrefix);
    expect(server.pool!.status).toEqual({ running: 0, loaded: 0 });
    const health = await (await fetch(`${server.url}/health`)).json();
    expect(health.decisionThreads).toEqual({ running: 0, loaded: 0 });
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^fleetguard_decision_threads_running 0$/m);
    // Replaced after a second, on the set being served.
    await until('the replacement is scheduled', () => restarts.length > 0);
    expect(restarts.map((r) => r.delayMs)).toEqual([1000]);
    restarts[0]!.restart();
    await until('the replacement thread holds the policies', () => server.pool!.status.loaded > 0);
    expect(server.pool!.status).toEqual({ running: 1, loaded: 1 });
    const after = await server.post('/v1/authorize/batch', { requests });
    expect(after.body.results[0].decision).toBe('allow');
    expect([mainPrefix, prefixOf(before.body.results[0].decisionId)]).not.toContain(
      prefixOf(after.body.results[0].decisionId),
    );
  });
});

describe('how many decision threads', () => {
  it('one a core by default, at most four; a flag or the environment says otherwise', () => {
    expect([1, 2, 3, 4, 16].map((cores) => defaultDecisionThreads(cores))).toEqual([1, 2, 3, 4, 4]);
    expect(resolveConfig({}, {}).decisionThreads).toBe(defaultDecisionThreads());
    expect(resolveConfig({ decisionThreads: '3' }, { FLEETGUARD_DECISION_THREADS: '0' }).decisionThreads).toBe(3);
    expect(resolveConfig({}, { FLEETGUARD_DECISION_THREADS: '0' }).decisionThreads).toBe(0);
  });

  it('batches in flight are spread over the threads, none of them the request thread', async () => {
    const server = await startTestServer({ decisionThreads: 2 });
    try {
      await until('both threads hold the policies', () => server.pool!.status.loaded === 2);
      expect(server.pool!.status).toEqual({ running: 2, loaded: 2 });
      const mainPrefix = await requestThreadPrefix(server);
      const requests = Array.from({ length: 50 }, (_, i) => ({
        principal: { type: 'device', id: `d-${i}`, attributes: { fleet: 'f-1', organization: 'o-1' } },
        action: 'read',
        resource: { type: 'fleet', id: 'f-1' },
      }));
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => server.post('/v1/authorize/batch', { requests })),
      );
      const prefixes = new Set(answers.map((a) => prefixOf(a.body.results[0].decisionId)));
      expect(prefixes.size).toBe(2);
      expect(prefixes.has(mainPrefix)).toBe(false);
      // One at a time too: idle threads take turns.
      const oneByOne = new Set<string>();
      for (let i = 0; i < 4; i++)
        oneByOne.add(prefixOf((await server.post('/v1/authorize/batch', { requests })).body.results[0].decisionId));
      expect(oneByOne).toEqual(prefixes);
    } finally {
      await server.stop();
    }
  });
});
