// The upstream AuthZEN interop case files, replayed against the sidecar running each example pack, with
// the upstream harness's comparison (../shared/authzen/README.md): evaluation by `decision || false`,
// evaluations by exact JSON, search by sorted results. Skipped, saying so, when ../shared is absent.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SHARED = join(REPO_DIR, '../shared/authzen');
const available = existsSync(SHARED);
if (!available) console.warn(`AuthZEN conformance skipped: ${SHARED} is absent`);

interface Case {
  request: Record<string, unknown>;
  expected: unknown;
}
const cases = (file: string, key: string): Case[] => JSON.parse(readFileSync(join(SHARED, file), 'utf8'))[key];

async function call(server: TestServer, path: string, body: unknown): Promise<any> {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'undefined' },
    body: JSON.stringify(body),
  });
  return res.json();
}

const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

function pack(name: string, run: (server: () => TestServer) => void) {
  describe.skipIf(!available)(name, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ policies: join(REPO_DIR, 'examples', name) });
    });
    afterAll(() => server?.stop());
    run(() => server);
  });
}

pack('authzen-todo', (server) => {
  it('passes the 40 evaluation cases', async () => {
    const all = cases('todo/decisions-authorization-api-1_0-02.json', 'evaluation');
    expect(all).toHaveLength(40);
    const failed = [];
    for (const c of all) {
      const res = await call(server(), '/access/v1/evaluation', c.request);
      if ((res.decision || false) !== c.expected) failed.push({ request: c.request, expected: c.expected, got: res });
    }
    expect(failed).toEqual([]);
  });

  it('passes the 3 evaluations cases', async () => {
    const all = cases('todo/decisions-authorization-api-1_0-02.json', 'evaluations');
    expect(all).toHaveLength(3);
    for (const c of all) {
      const res = await call(server(), '/access/v1/evaluations', c.request);
      expect(JSON.stringify(res.evaluations)).toBe(JSON.stringify(c.expected));
    }
  });
});

pack('authzen-gateway', (server) => {
  it('passes the 25 gateway cases', async () => {
    const all = cases('api-gateway/decisions.json', 'evaluation');
    expect(all).toHaveLength(25);
    const failed = [];
    for (const c of all) {
      const res = await call(server(), '/access/v1/evaluation', c.request);
      if ((res.decision || false) !== c.expected) failed.push({ request: c.request, expected: c.expected, got: res });
    }
    expect(failed).toEqual([]);
  });
});

pack('authzen-search', (server) => {
  for (const [kind, count] of [
    ['subject', 60],
    ['resource', 18],
    ['action', 120],
  ] as const) {
    it(`passes the ${count} ${kind} search cases`, async () => {
      const all = cases(`search/${kind}-results.json`, 'evaluation');
      expect(all).toHaveLength(count);
      const failed = [];
      for (const c of all) {
        const res = await call(server(), `/access/v1/search/${kind}`, c.request);
        const expected = (c.expected as { results: unknown[] }).results;
        if (JSON.stringify(sorted(res.results ?? [])) !== JSON.stringify(sorted(expected)))
          failed.push({ request: c.request, expected, got: res.results });
      }
      expect(failed).toEqual([]);
    });
  }
});
