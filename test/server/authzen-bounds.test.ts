// What one AuthZEN request may cost and leave behind, whatever the caller sends: batches capped like
// /v1/authorize/batch, search pages that decide and log a page's worth of candidates, not the store,
// page tokens only the sidecar can make, and one metric label for every type the schema does not declare.
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeEntities } from '../support/entities.js';
import { depth } from '../support/depth.js';
import { REPO_DIR } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SEARCH_PACK = join(REPO_DIR, 'examples/authzen-search');

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ policies: SEARCH_PACK, batchLimit: 10, bodyLimit: 4096 });
});
afterAll(() => server.stop());

const bob = { type: 'user', id: 'bob' };
const view = { name: 'view' };
const record = (id: string) => ({ type: 'record', id });

/** Decisions made so far, from the metrics (counted with every decision-log row). */
async function decisionsMade(s: TestServer = server): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  let total = 0;
  for (const [, n] of text.matchAll(/^fleetguard_decisions_total\{[^}]*\} (\d+)$/gm)) total += Number(n);
  return total;
}

/** Decision-log rows written so far, everything appended before included. */
async function rowsWritten(s: TestServer = server): Promise<number> {
  await s.decisionLog.drain();
  return s.decisionLog.stats.written;
}

describe('evaluations: the batch limit', () => {
  it('400 batch_too_large above --batch-limit items, nothing decided or logged; at the limit, 200', async () => {
    const before = await rowsWritten();
    const over = await server.post('/access/v1/evaluations', {
      subject: bob,
      action: view,
      resource: record('102'),
      evaluations: Array.from({ length: 11 }, () => ({})),
    });
    expect(over.status).toBe(400);
    expect(over.body.error).toMatchObject({ code: 'batch_too_large', path: 'evaluations' });
    expect(await rowsWritten()).toBe(before);

    const at = await server.post('/access/v1/evaluations', {
      subject: bob,
      action: view,
      resource: record('102'),
      evaluations: Array.from({ length: 10 }, () => ({})),
    });
    expect(at.status).toBe(200);
    expect(at.body.evaluations).toHaveLength(10);
    expect(await rowsWritten()).toBe(before + 10);
  });

  it('413 above the body limit, as on /v1/authorize/batch', async () => {
    const body = JSON.stringify({ subject: bob, action: view, resource: record('102'), pad: 'x'.repeat(5000) });
    const res = await server.post('/access/v1/evaluations', body);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('the default limit (1000) holds: 5,000 empty items are refused', async () => {
    const plain = await startTestServer({ policies: SEARCH_PACK });
    try {
      const res = await plain.post('/access/v1/evaluations', {
        subject: bob,
        action: view,
        resource: record('102'),
        evaluations: Array.from({ length: 5000 }, () => ({})),
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('batch_too_large');
    } finally {
      await plain.stop();
    }
  });
});

describe('search pages are bounded by the page, not the store', () => {
  // 5,000 employees of Nowhere first in store order (ids sort before the pack's), then 5,000 managers;
  // record nw belongs to Nowhere (everyone may view it), record 101 to Legal (the employees may not).
  let big: TestServer;
  beforeAll(async () => {
    big = await startTestServer({ policies: SEARCH_PACK });
    const users = (prefix: string, role: string, department: string) =>
      Array.from({ length: 5000 }, (_, i) => ({
        type: 'user',
        id: `${prefix}-${String(i).padStart(4, '0')}`,
        attributes: { role, department },
      }));
    await storeEntities(big, [
      ...users('0', 'employee', 'Nowhere'),
      ...users('m', 'manager', 'Sales'),
      { type: 'record', id: 'nw', attributes: { department: 'Nowhere', owner: 'nobody' } },
    ]);
  });
  afterAll(() => big.stop());

  const subjects = (id: string, page?: Record<string, unknown>) =>
    big.post('/access/v1/search/subject', {
      subject: { type: 'user' },
      action: view,
      resource: record(id),
      ...(page ? { page } : {}),
    });

  it('subject search with limit 1 decides and logs one candidate when it is allowed', async () => {
    const before = await rowsWritten(big);
    const res = await subjects('nw', { limit: 1 });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([{ type: 'user', id: '0-0000' }]);
    expect(res.body.page.next_token).not.toBe('');
    expect(await rowsWritten(big)).toBe(before + 1);
  });

  it('a page among denied candidates examines at most 10 × limit of them and says where to go on', async () => {
    const before = await rowsWritten(big);
    const res = await subjects('101', { limit: 2 });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([]);
    expect(res.body.page.next_token).not.toBe('');
    expect(await rowsWritten(big)).toBe(before + 20);
    const next = await subjects('101', { limit: 2, token: res.body.page.next_token });
    expect(next.body.results).toEqual([]);
    expect(await rowsWritten(big)).toBe(before + 40);
  });

  it('a search without page is a first page of 1000 results', async () => {
    const before = await decisionsMade(big);
    const res = await subjects('nw');
    expect(res.body.results).toHaveLength(1000);
    expect(res.body.page.next_token).not.toBe('');
    expect((await decisionsMade(big)) - before).toBe(1000);
  });

  it('resource search, row by row (search properties sent), is bounded the same way', async () => {
    const before = await rowsWritten(big);
    const res = await big.post('/access/v1/search/resource', {
      subject: { type: 'user', id: 'm-0001' },
      action: view,
      resource: { type: 'record', properties: { title: 'any' } },
      page: { limit: 3 },
    });
    expect(res.body.results).toEqual([record('101'), record('102'), record('103')]);
    expect(await rowsWritten(big)).toBe(before + 3);
  });
});

describe('paging', () => {
  // Users added run by run (ids unique to the run); every page of the subject search is compared with
  // the same search answered in one page, and its work with its limit.
  it('pages in order lose and repeat nothing, each deciding at most 10 × limit candidates', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ manager: fc.boolean(), legal: fc.boolean() }), { minLength: 0, maxLength: 30 }),
        fc.integer({ min: 1, max: 7 }),
        async (users, limit) => {
          run++;
          await storeEntities(
            server,
            users.map((u, i) => ({
              type: 'user',
              id: `p${run}-${i}`,
              attributes: { role: u.manager ? 'manager' : 'employee', department: u.legal ? 'Legal' : 'Sales' },
            })),
          );
          const search = { subject: { type: 'user' }, action: view, resource: record('105') };
          const whole = await server.post('/access/v1/search/subject', search);
          expect(whole.body.page.next_token).toBe('');
          const paged: unknown[] = [];
          let token = '';
          for (let pages = 0; pages < 1000; pages++) {
            const before = await decisionsMade();
            const res = await server.post('/access/v1/search/subject', { ...search, page: { limit, token } });
            expect(res.status).toBe(200);
            expect(res.body.results.length).toBeLessThanOrEqual(limit);
            expect((await decisionsMade()) - before).toBeLessThanOrEqual(10 * limit);
            paged.push(...res.body.results);
            token = res.body.page.next_token;
            if (token === '') break;
          }
          expect(paged).toEqual(whole.body.results);
        },
      ),
      { numRuns: depth(4, 16) },
    );
  });
});

describe('page tokens', () => {
  const search = { subject: { type: 'user', id: 'alice' }, action: view, resource: { type: 'record' } };
  const firstPage = async () => {
    const res = await server.post('/access/v1/search/resource', { ...search, page: { limit: 2 } });
    expect(res.body.page.next_token).not.toBe('');
    return res.body.page.next_token as string;
  };
  const expectBadToken = (res: { status: number; body: any }) => {
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', path: 'page.token' });
  };

  it('a token the PDP did not issue is a 400 (the old offset tokens included)', async () => {
    for (const token of ['Mg', Buffer.from('2').toString('base64url'), 'x'.repeat(40), '!!']) {
      expectBadToken(await server.post('/access/v1/search/resource', { ...search, page: { limit: 2, token } }));
    }
  });

  it('an altered token, or one sent with another search, is a 400', async () => {
    const token = await firstPage();
    const altered = token.slice(0, 5) + (token[5] === 'A' ? 'B' : 'A') + token.slice(6);
    expectBadToken(await server.post('/access/v1/search/resource', { ...search, page: { token: altered } }));
    expectBadToken(
      await server.post('/access/v1/search/resource', { ...search, action: { name: 'edit' }, page: { token } }),
    );
    expectBadToken(
      await server.post('/access/v1/search/subject', {
        subject: { type: 'user' },
        action: view,
        resource: record('101'),
        page: { token },
      }),
    );
  });

  it('the same search goes on with its token, keys in any order and another limit', async () => {
    const token = await firstPage();
    const next = await server.post('/access/v1/search/resource', {
      page: { token, limit: 3 },
      resource: { type: 'record' },
      action: view,
      subject: { id: 'alice', type: 'user' },
    });
    expect(next.status).toBe(200);
    expect(next.body.results).toEqual([record('103'), record('104'), record('105')]);
  });

  it("another sidecar process does not take this one's tokens", async () => {
    const token = await firstPage();
    const other = await startTestServer({ policies: SEARCH_PACK });
    try {
      expectBadToken(await other.post('/access/v1/search/resource', { ...search, page: { token } }));
    } finally {
      await other.stop();
    }
  });
});

describe('metric labels', () => {
  /** The principal_type values of fleetguard_decisions_total. */
  async function principalTypes(): Promise<Set<string>> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return new Set(
      [...text.matchAll(/^fleetguard_decisions_total\{[^}]*principal_type="([^"]*)"/gm)].map((m) => m[1]!),
    );
  }

  it('a type the schema does not declare is a deny naming it, counted as principal_type="unknown"', async () => {
    const types = Array.from({ length: 40 }, (_, i) => `made-up-${i}`);
    for (const type of types) {
      const res = await server.post('/access/v1/evaluation', {
        subject: { type, id: 'x' },
        action: view,
        resource: record('102'),
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        decision: false,
        context: { errors: [{ code: 'unknown-principal-type', message: `unknown principal type \`${type}\`` }] },
      });
    }
    const batch = await server.post('/access/v1/evaluations', {
      action: view,
      resource: record('102'),
      evaluations: types.slice(0, 10).map((type) => ({ subject: { type: `${type}-b`, id: 'x' } })),
    });
    expect(batch.body.evaluations).toEqual(Array.from({ length: 10 }, () => ({ decision: false })));
    await server.post('/access/v1/search/action', { subject: { type: 'made-up-s', id: 'x' }, resource: record('102') });
    await server.post('/access/v1/evaluation', { subject: bob, action: view, resource: record('102') });

    const labels = await principalTypes();
    expect(labels).toEqual(new Set(['user', 'unknown']));
  });

  it('decisions of /v1/authorize/batch are counted once each, under their type', async () => {
    const request = {
      principal: { type: 'user', id: 'u', attributes: { role: 'manager', department: 'Sales' } },
      action: 'view',
      resource: { type: 'record', id: 'r', attributes: { department: 'Legal', owner: 'u' } },
    };
    const before = await decisionsMade();
    const res = await server.post('/v1/authorize/batch', { requests: [request, request, request] });
    expect(res.status).toBe(200);
    expect((await decisionsMade()) - before).toBe(3);
    expect(await principalTypes()).toEqual(new Set(['user', 'unknown']));
  });
});
