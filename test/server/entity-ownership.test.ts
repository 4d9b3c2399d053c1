// Who owns an entity, over HTTP: a pack's entities.yaml owns what it declares, scoped to that pack (another
// pack served from the same database never sees it), and the admin API cannot change it behind the file's
// back, so no reload ever reverts an administrator's change; the store owns everything else.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createLog } from '../../server/log.js';
import { openDatabase } from '../../server/store/database.js';
import { SqliteEntityStore } from '../../server/store/entity-store.js';
import { MIGRATIONS } from '../../server/store/migrations.js';
import { fleetguard } from '../support/cli.js';
import { REPO_DIR } from '../support/policies.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const SEARCH = join(REPO_DIR, 'examples/authzen-search');
const CERT = join(REPO_DIR, 'examples/authzen-cert');

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

const ids = (res: { body: { results: { id: string }[] } }) => res.body.results.map((r) => r.id).sort();

const recordsAliceViews = (s: TestServer) =>
  s.post('/access/v1/search/resource', {
    subject: { type: 'user', id: 'alice' },
    action: { name: 'view' },
    resource: { type: 'record' },
  });
const whoReadsRecord1 = (s: TestServer) =>
  s.post('/access/v1/search/subject', {
    subject: { type: 'user' },
    action: { name: 'read' },
    resource: { type: 'record', id: 'record-1' },
  });

const SEARCH_RECORDS = Array.from({ length: 20 }, (_, i) => String(101 + i));

describe('example packs on one database', () => {
  it('run one after another, neither answers with the other’s entities', async () => {
    const db = join(tempDir('fleetguard-packs-'), 'fleetguard.db');
    // What the cert pack answers on its own database: the same after the search pack ran on it.
    const certAnswers = async (s: TestServer) => ({
      readers: ids(await whoReadsRecord1(s)),
      writes: await Promise.all(
        ['alice', 'bob'].map(
          async (user) =>
            (
              await s.post('/access/v1/evaluation', {
                subject: { type: 'user', id: user },
                action: { name: 'write' },
                resource: { type: 'record', id: 'record-2' },
              })
            ).body.decision,
        ),
      ),
    });
    const cert = await startTestServer({ policies: CERT, db });
    const alone = await certAnswers(cert);
    expect(alone.readers).toEqual(['alice', 'bob']);
    await cert.stop();

    const search = await startTestServer({ policies: SEARCH, db });
    // alice is a manager here: she views every record of the store, and only the pack's records are there.
    expect(ids(await recordsAliceViews(search))).toEqual(SEARCH_RECORDS);
    expect(search.entities.has('record', 'record-1')).toBe(false);
    await search.stop();

    const again = await startTestServer({ policies: CERT, db });
    expect(await certAnswers(again)).toEqual(alone);
    expect(again.entities.has('record', '101')).toBe(false);
    await again.stop();
  });

  it('run side by side, each sees its own pack', async () => {
    const db = join(tempDir('fleetguard-packs-'), 'fleetguard.db');
    const cert = await startTestServer({ policies: CERT, db });
    const search = await startTestServer({ policies: SEARCH, db });
    try {
      expect(ids(await whoReadsRecord1(cert))).toEqual(['alice', 'bob']);
      expect(ids(await recordsAliceViews(search))).toEqual(SEARCH_RECORDS);
    } finally {
      await cert.stop();
      await search.stop();
    }
  });
});

describe('entities.yaml owns the entities it declares', () => {
  function pack(): string {
    const dir = tempDir('fleetguard-owned-');
    cpSync(SEARCH, dir, { recursive: true });
    return dir;
  }
  const bobViews = async (s: TestServer, record: string) =>
    (
      await s.post('/access/v1/evaluation', {
        subject: { type: 'user', id: 'bob' },
        action: { name: 'view' },
        resource: { type: 'record', id: record },
      })
    ).body.decision;

  it('the admin API cannot change them (409), so no reload reverts an administrator', async () => {
    const dir = pack();
    const s = await startTestServer({ policies: dir });
    try {
      // bob (an employee of Legal) views record 104 of Accounting only as a manager.
      expect(await bobViews(s, '104')).toBe(false);
      const promote = await s.post(
        '/v1/admin/entities',
        { entities: [{ type: 'user', id: 'bob', attributes: { role: 'manager', department: 'Legal' } }] },
        admin,
      );
      expect(promote.status).toBe(409);
      expect(promote.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining('entities.yaml') });
      expect(await bobViews(s, '104')).toBe(false);

      // An entity the file does not declare belongs to the store: changed through the API, it stays
      // changed through reloads and unrelated policy edits.
      const zed = (role: string) => ({ type: 'user', id: 'zed', attributes: { role, department: 'Legal' } });
      expect((await s.post('/v1/admin/entities', { entities: [zed('manager')] }, admin)).status).toBe(200);
      expect((await s.post('/v1/admin/entities', { entities: [zed('employee')] }, admin)).status).toBe(200);
      writeFileSync(join(dir, 'records.yaml'), `${readFileSync(join(dir, 'records.yaml'), 'utf8')}\n# edited\n`);
      expect((await s.post('/v1/admin/reload', {}, admin)).status).toBe(200);
      const zedViews = await s.post('/access/v1/evaluation', {
        subject: { type: 'user', id: 'zed' },
        action: { name: 'view' },
        resource: { type: 'record', id: '104' },
      });
      expect(zedViews.body.decision).toBe(false);
    } finally {
      await s.stop();
    }
  });

  it('a reload applies the file: changed entities change, removed ones go', async () => {
    const dir = pack();
    const s = await startTestServer({ policies: dir });
    try {
      const file = join(dir, 'entities.yaml');
      const text = readFileSync(file, 'utf8');
      writeFileSync(
        file,
        text
          .replace('{ role: employee, department: Legal } }', '{ role: manager, department: Legal } }')
          .replace(/^.*id: "120".*\n/m, ''),
      );
      expect((await s.post('/v1/admin/reload', {}, admin)).status).toBe(200);
      expect(await bobViews(s, '104')).toBe(true);
      expect(s.entities.has('record', '120')).toBe(false);
    } finally {
      await s.stop();
    }
  });

  it('a file that declares an entity the store owns takes it over and says so', async () => {
    const dir = pack();
    writeFileSync(join(dir, 'entities.yaml'), 'entities: []\n');
    const lines: Record<string, unknown>[] = [];
    const stream = { write: (chunk: string) => void lines.push(JSON.parse(chunk)) };
    const s = await startTestServer({ policies: dir, logLevel: 'info' }, createLog('info', stream));
    try {
      const carol = { type: 'user', id: 'carol', attributes: { role: 'manager', department: 'Legal' } };
      expect((await s.post('/v1/admin/entities', { entities: [carol] }, admin)).status).toBe(200);
      writeFileSync(
        join(dir, 'entities.yaml'),
        'entities:\n  - { type: user, id: carol, attributes: { role: contractor, department: Legal } }\n',
      );
      expect((await s.post('/v1/admin/reload', {}, admin)).status).toBe(200);
      const carolViews = await s.post('/access/v1/evaluation', {
        subject: { type: 'user', id: 'carol' },
        action: { name: 'view' },
        resource: { type: 'record', id: '104' },
      });
      expect(carolViews.body.decision).toBe(false);
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 40, entities: ['user/carol'], msg: expect.stringContaining('entities.yaml') }),
      );
    } finally {
      await s.stop();
    }
  });

  it('fleetguard entities import refuses what the pack’s file owns (exit 2, nothing stored)', async () => {
    const dir = pack();
    const db = join(tempDir('fleetguard-owned-db-'), 'fleetguard.db');
    const s = await startTestServer({ policies: dir, db });
    await s.stop();
    const file = join(tempDir('fleetguard-import-'), 'import.yaml');
    writeFileSync(
      file,
      'entities:\n  - { type: user, id: zoe, attributes: { role: manager, department: Legal } }\n  - { type: user, id: bob, attributes: { role: manager, department: Legal } }\n',
    );
    const r = fleetguard(['entities', 'import', file, '--policies', dir, '--db', db]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/user\/bob.*entities\.yaml/);
    const again = await startTestServer({ policies: dir, db });
    try {
      expect(again.entities.has('user', 'zoe')).toBe(false);
      expect(await bobViews(again, '104')).toBe(false);
    } finally {
      await again.stop();
    }
  });
});

describe('a database from before entities had owners', () => {
  it('keeps its entities, as the store’s own', () => {
    const file = join(tempDir('fleetguard-old-'), 'old.db');
    const old = new Database(file);
    const before = 2; // the key store, before entities had owners (migration 3)
    MIGRATIONS.slice(0, before).forEach((m) => (typeof m === 'string' ? old.exec(m) : m(old)));
    old.pragma(`user_version = ${before}`);
    old
      .prepare("INSERT INTO entities (type, id, attributes, updated_at) VALUES ('user', 'u-old', ?, 0)")
      .run(JSON.stringify({ memberOf: ['o-1'] }));
    old.close();
    const db = openDatabase(file);
    try {
      expect(new SqliteEntityStore(db, Date.now, '/some/pack').attributes('user', 'u-old')).toEqual({
        memberOf: ['o-1'],
      });
      expect(new SqliteEntityStore(db, Date.now).attributes('user', 'u-old')).toEqual({ memberOf: ['o-1'] });
    } finally {
      db.close();
    }
  });
});
