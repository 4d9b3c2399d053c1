// The client's AuthZEN calls against Fleetguard's own AuthZEN routes (and the same calls decided in
// process): the upstream interop case files, judged as the upstream harness judges a PDP
// (../shared/authzen/README.md). Skipped, saying so, when ../shared is absent.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetguardClient } from '../../client/client.js';
import { MODES, type ModeContext } from '../support/client-modes.js';
import { REPO_DIR } from '../support/policies.js';

const SHARED = join(REPO_DIR, '../shared/authzen');
const available = existsSync(SHARED);
if (!available) console.warn(`client AuthZEN cases skipped: ${SHARED} is absent`);

interface Case {
  request: any;
  expected: any;
}
const cases = (file: string, key: string): Case[] => JSON.parse(readFileSync(join(SHARED, file), 'utf8'))[key];
const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

function pack(name: string, run: (client: () => FleetguardClient) => void) {
  for (const mode of MODES) {
    describe.skipIf(!available)(`${name}, ${mode.name} mode`, () => {
      let ctx: ModeContext;
      beforeAll(async () => {
        ctx = await mode.start(join(REPO_DIR, 'examples', name));
      });
      afterAll(() => ctx?.stop());
      run(() => ctx.client);
    });
  }
}

pack('authzen-todo', (client) => {
  it('passes the 40 evaluation cases and the 3 evaluations cases', async () => {
    const evaluation = cases('todo/decisions-authorization-api-1_0-02.json', 'evaluation');
    const answers = await Promise.all(evaluation.map((c) => client().evaluation(c.request)));
    expect(answers.map((a) => a.decision)).toEqual(evaluation.map((c) => c.expected));
    expect(answers.every((a) => a.error === undefined)).toBe(true);

    const evaluations = cases('todo/decisions-authorization-api-1_0-02.json', 'evaluations');
    expect(evaluations).toHaveLength(3);
    for (const c of evaluations) {
      const answer = await client().evaluations(c.request);
      expect(JSON.stringify(answer.evaluations)).toBe(JSON.stringify(c.expected));
    }
  });

  it('answers an evaluations request without items as one evaluation', async () => {
    const [c] = cases('todo/decisions-authorization-api-1_0-02.json', 'evaluation');
    const answer = await client().evaluations(c!.request);
    expect(answer.evaluations.map((e) => e.decision)).toEqual([c!.expected]);
  });

  it('denies an invalid evaluation, saying the service rejected it', async () => {
    const answer = await client().evaluation({ subject: { type: 'user' }, action: { name: 'x' } } as never);
    expect(answer).toMatchObject({
      decision: false,
      context: { reason: expect.stringMatching(/rejected the request: subject/) },
    });
  });
});

/** A pack whose only stored user has no roles: a caller must not be able to give it one. */
function packWithStoredUser(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-authzen-'));
  writeFileSync(
    join(dir, 'schema.yaml'),
    'actions: [read]\nprincipals:\n  user:\n    attributes:\n      roles: { type: list<string>, default: [] }\nresources:\n  doc: {}\n',
  );
  writeFileSync(
    join(dir, 'docs.yaml'),
    'rules:\n  - id: admins-read\n    description: Admins read docs.\n    effect: allow\n    principal: user\n    actions: [read]\n    resources: [doc]\n    when: \'"admin" in principal.roles\'\n',
  );
  writeFileSync(join(dir, 'entities.yaml'), 'entities:\n  - { type: user, id: u-1 }\n');
  return dir;
}

for (const mode of MODES) {
  describe(`a stored subject, ${mode.name} mode`, () => {
    const dir = packWithStoredUser();
    let ctx: ModeContext;
    beforeAll(async () => {
      ctx = await mode.start(dir);
    });
    afterAll(async () => {
      await ctx?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('is taken from the entities as it is: properties sent for it add nothing', async () => {
      const ask = (id: string, properties?: Record<string, unknown>) =>
        ctx.client.evaluation({
          subject: { type: 'user', id, ...(properties ? { properties } : {}) },
          action: { name: 'read' },
          resource: { type: 'doc', id: 'd-1' },
        });
      const [stored, unknown] = await Promise.all([ask('u-1', { roles: ['admin'] }), ask('u-2', { roles: ['admin'] })]);
      expect(stored.decision).toBe(false);
      expect(unknown.decision).toBe(true); // an entity the store does not know is described by the request
    });
  });
}

pack('authzen-gateway', (client) => {
  it('passes the 25 gateway cases', async () => {
    const all = cases('api-gateway/decisions.json', 'evaluation');
    const answers = await Promise.all(all.map((c) => client().evaluation(c.request)));
    expect(answers.map((a) => a.decision)).toEqual(all.map((c) => c.expected));
  });
});

/** The search pack's cases and paging, against one mode's client. */
function searchTests(mode: string, client: () => FleetguardClient) {
  it.skipIf(!available)(`passes the subject, resource and action search cases, ${mode} mode`, async () => {
    const calls = {
      subject: (r: any) => client().subjectSearch(r),
      resource: (r: any) => client().resourceSearch(r),
      action: (r: any) => client().actionSearch(r),
    };
    for (const [kind, count] of [
      ['subject', 60],
      ['resource', 18],
      ['action', 120],
    ] as const) {
      const all = cases(`search/${kind}-results.json`, 'evaluation');
      expect(all).toHaveLength(count);
      const answers = await Promise.all(all.map((c) => calls[kind](c.request)));
      expect(answers.map((a) => a.error)).toEqual(all.map(() => undefined));
      expect(answers.map((a) => sorted(a.results))).toEqual(all.map((c) => sorted(c.expected.results)));
    }
  });

  it(`pages search results, each token for its own search, ${mode} mode`, async () => {
    const request = {
      subject: { type: 'user', id: 'alice' },
      action: { name: 'view' },
      resource: { type: 'record' },
    };
    const all = (await client().resourceSearch(request)).results;
    const first = await client().resourceSearch({ ...request, page: { limit: 2 } });
    const second = await client().resourceSearch({ ...request, page: { limit: 2, token: first.page!.next_token } });
    expect([...first.results, ...second.results]).toEqual(all.slice(0, 4));
    // a token belongs to its search
    const other = await client().resourceSearch({
      ...request,
      action: { name: 'edit' },
      page: { limit: 2, token: first.page!.next_token },
    });
    expect(other).toMatchObject({
      results: [],
      context: { reason: expect.stringMatching(/rejected the request: page.token/) },
    });
  });
}

describe('authzen-search, sidecar and embedded', () => {
  let http: ModeContext;
  let embedded: ModeContext;
  beforeAll(async () => {
    const started = await Promise.all(MODES.map((m) => m.start(join(REPO_DIR, 'examples', 'authzen-search'))));
    [http, embedded] = [started[0]!, started[1]!];
  });
  afterAll(async () => {
    await http?.stop();
    await embedded?.stop();
  });
  searchTests('http', () => http.client);
  searchTests('embedded', () => embedded.client);

  /** Every page of a search, following its tokens: the results of each and whether another follows. */
  async function pages(client: FleetguardClient, kind: 'subject' | 'resource' | 'action', request: any) {
    const call = { subject: client.subjectSearch, resource: client.resourceSearch, action: client.actionSearch }[kind];
    const out: { results: unknown[]; more: boolean }[] = [];
    let token: string | undefined;
    do {
      const answer = await call({ ...request, page: { ...request.page, ...(token ? { token } : {}) } });
      expect(answer.error).toBeUndefined();
      token = answer.page?.next_token;
      out.push({ results: answer.results, more: Boolean(token) });
    } while (token && out.length < 50);
    return out;
  }

  it.each([1, 2, 3, 7])('gives the same pages of %i results in both modes', async (limit) => {
    const searches = [
      ['subject', { subject: { type: 'user' }, action: { name: 'view' }, resource: { type: 'record', id: '101' } }],
      ['resource', { subject: { type: 'user', id: 'bob' }, action: { name: 'view' }, resource: { type: 'record' } }],
      [
        'resource',
        {
          subject: { type: 'user', id: 'carol' },
          action: { name: 'edit' },
          resource: { type: 'record', properties: { department: 'Legal' } },
        },
      ],
      ['action', { subject: { type: 'user', id: 'alice' }, resource: { type: 'record', id: '107' } }],
    ] as const;
    for (const [kind, request] of searches) {
      const asked = { ...request, page: { limit } };
      expect(await pages(embedded.client, kind, asked)).toEqual(await pages(http.client, kind, asked));
    }
  });
});
