// Entities are checked against the schema on every way in (a pack's entities.yaml, `fleetguard entities
// import`, the admin API) and stored in one form, so AuthZEN resource search (SQL over the store) returns
// exactly what evaluation allows: a bool given as 1 is refused, epoch-millisecond times are times.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartupError } from '../../server/main.js';
import { fleetguard } from '../support/cli.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const HOUR = 3_600_000;

const SCHEMA = `
actions: [read]
context:
  time: time
principals:
  user:
    attributes: { clearance: number }
resources:
  doc:
    attributes:
      public: bool
      level: number
      expires: time
`;
const RULES = `
rules:
  - id: public-docs
    description: Anyone reads a public document.
    effect: allow
    principal: user
    actions: [read]
    resources: [doc]
    when: resource.public
  - id: cleared-until-expiry
    description: A user cleared for its level reads a document until it expires.
    effect: allow
    principal: user
    actions: [read]
    resources: [doc]
    when: [resource.level <= principal.clearance, context.time < resource.expires]
`;

function pack(entities?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-pack-'));
  writeFileSync(join(dir, 'schema.yaml'), SCHEMA);
  writeFileSync(join(dir, 'docs.yaml'), RULES);
  if (entities !== undefined) writeFileSync(join(dir, 'entities.yaml'), entities);
  return dir;
}

let dir: string;
let server: TestServer;
beforeAll(async () => {
  dir = pack();
  server = await startTestServer({ policies: dir });
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const user = { type: 'user', id: 'u', attributes: { clearance: 2 } };
const doc = (id: string, attributes: Record<string, unknown>) => ({ type: 'doc', id, attributes });

describe('the admin API', () => {
  it('refuses a value of the wrong type with 400 and the path of the value, storing nothing', async () => {
    const res = await server.post(
      '/v1/admin/entities',
      {
        entities: [
          doc('ok', { public: true, level: 1, expires: Date.now() }),
          doc('bad', { public: 1, level: 1, expires: Date.now() }),
        ],
      },
      admin,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'invalid_request',
      path: 'entities.1.attributes.public',
      message: expect.stringContaining('true or false'),
    });
    const search = await server.post('/access/v1/search/resource', {
      subject: { type: 'user', id: 'anyone', properties: { clearance: 0 } },
      action: { name: 'read' },
      resource: { type: 'doc' },
    });
    expect(search.body.results).toEqual([]);
  });

  it.each([
    ['an unknown type', { type: 'dok', id: 'x', attributes: {} }, 'entities.0.type'],
    ['an undeclared attribute', doc('x', { public: true, level: 1, expires: 0, lvl: 1 }), 'entities.0.attributes.lvl'],
    ['a missing required attribute', doc('x', { public: true, level: 1 }), 'entities.0.attributes'],
    ['a time that is no time', doc('x', { public: true, level: 1, expires: 'soon' }), 'entities.0.attributes.expires'],
  ])('refuses %s', async (_name, entity, path) => {
    const res = await server.post('/v1/admin/entities', { entities: [entity] }, admin);
    expect(res.status).toBe(400);
    expect(res.body.error.path).toBe(path);
  });

  it('checks imported users against the schema too', async () => {
    const res = await server.post('/v1/admin/users', { users: [{ id: 'u-x', adminOf: ['o-1'] }] }, admin);
    expect(res.status).toBe(400);
    expect(res.body.error.path).toBe('users.0.adminOf');
  });

  it('resource search returns exactly what evaluation allows, times as epoch milliseconds or RFC 3339', async () => {
    const now = Date.now();
    const docs = [
      doc('d-public', { public: true, level: 9, expires: now - HOUR }),
      doc('d-ms-future', { public: false, level: 1, expires: now + HOUR }),
      doc('d-ms-past', { public: false, level: 1, expires: now - HOUR }),
      doc('d-text-future', { public: false, level: 2, expires: new Date(now + HOUR).toISOString() }),
      doc('d-text-past', { public: false, level: 2, expires: new Date(now - HOUR).toISOString() }),
      doc('d-too-high', { public: false, level: 3, expires: now + HOUR }),
    ];
    expect((await server.post('/v1/admin/entities', { entities: [user, ...docs] }, admin)).status).toBe(200);
    const subject = { type: 'user', id: 'u' };
    const action = { name: 'read' };
    const search = await server.post('/access/v1/search/resource', { subject, action, resource: { type: 'doc' } });
    expect(search.status).toBe(200);
    const allowed: string[] = [];
    for (const d of docs) {
      const res = await server.post('/access/v1/evaluation', { subject, action, resource: { type: 'doc', id: d.id } });
      if (res.body.decision) allowed.push(d.id);
    }
    expect(allowed.sort()).toEqual(['d-ms-future', 'd-public', 'd-text-future']);
    expect(search.body.results.map((r: { id: string }) => r.id).sort()).toEqual(allowed.sort());
  });
});

describe('entities.yaml and fleetguard entities import', () => {
  const BAD = `entities:\n  - { type: doc, id: d-1, attributes: { public: 1, level: 1, expires: 0 } }\n`;

  it('a sidecar refuses to start on a pack whose entities do not match its schema, naming file:line:col', async () => {
    const bad = pack(BAD);
    try {
      const started = startTestServer({ policies: bad });
      await expect(started).rejects.toBeInstanceOf(StartupError);
      await expect(started).rejects.toMatchObject({
        errors: [
          expect.stringMatching(
            /^entities\.yaml:2:\d+: `doc\.public` should be true or false, got number \[invalid-entity\]/,
          ),
        ],
      });
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('entities import checks against the schema of --policies: exit 2 with file:line:col, nothing stored', () => {
    const file = join(server.dir, 'import.yaml');
    writeFileSync(file, BAD);
    const db = join(server.dir, 'import.db');
    const r = fleetguard(['entities', 'import', file, '--policies', dir, '--db', db]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /import\.yaml:2:\d+: `doc\.public` should be true or false, got number \[invalid-entity\]/,
    );
    writeFileSync(file, `entities:\n  - { type: doc, id: d-1, attributes: { public: true, level: 1, expires: 0 } }\n`);
    const ok = fleetguard(['entities', 'import', file, '--policies', dir, '--db', db]);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ imported: 1 });
  });
});
