// The decision log's promises: a full queue is never silent, nothing queued is lost on close, retention.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../engine/index.js';
import Database from 'better-sqlite3';
import { openDatabase } from '../../server/store/database.js';
import { DECISIONS_VIEW } from '../../server/decision-log/row.js';
import { DecisionLog, queryDecisions, type DecisionLogOptions } from '../../server/decision-log/decision-log.js';
import { depth } from '../support/depth.js';
import { denyDecision, sampleRequest } from '../support/sample-decision.js';
import { until } from '../support/wait.js';

const req = sampleRequest;
const decision = denyDecision;

function setup(options: Partial<DecisionLogOptions>) {
  const db = openDatabase(':memory:');
  const warnings: string[] = [];
  let now = Date.parse('2026-06-01T00:00:00Z');
  const log = new DecisionLog(db, undefined, {
    flushMs: 250,
    logRequests: true,
    blockRows: 4096,
    queueMax: 10,
    overflow: 'block',
    retentionDays: 30,
    clock: () => now,
    warn: (m) => warnings.push(m),
    ...options,
  });
  return { db, log, warnings, advance: (ms: number) => (now += ms) };
}

const count = (db: ReturnType<typeof openDatabase>) =>
  (db.prepare('SELECT count(*) AS n FROM decisions').get() as { n: number }).n;

describe('decision log', () => {
  it('by default a full queue writes synchronously (back-pressure) and loses nothing', () => {
    const { db, log, warnings } = setup({ overflow: 'block' });
    for (let i = 0; i < 35; i++) log.append(decision(`d${i}`), req, 1);
    expect(log.stats).toMatchObject({ dropped: 0, blockedFlushes: 3 });
    expect(warnings[0]).toContain('writing synchronously');
    void log.close();
    expect(count(db)).toBe(35);
  });

  it('with overflow=drop a full queue drops, counts and warns', () => {
    const { db, log, warnings } = setup({ overflow: 'drop' });
    for (let i = 0; i < 25; i++) log.append(decision(`d${i}`), req, 1);
    expect(log.stats.dropped).toBe(15);
    expect(warnings).toEqual(['decision log queue is full: dropping decisions']);
    void log.close();
    expect(count(db)).toBe(10);
  });

  it('keeps entries queued when a write fails, and writes them once the database recovers', () => {
    const { db, log, warnings } = setup({});
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON decision_blocks BEGIN SELECT RAISE(ABORT, 'disk says no'); END;");
    log.append(decision('a'), req, 1);
    log.flushAll();
    expect(log.stats.writeErrors).toBe(1);
    expect(log.queueDepth).toBe(1);
    expect(warnings[0]).toContain('write failed');
    db.exec('DROP TRIGGER refuse');
    void log.close();
    expect(count(db)).toBe(1);
  });

  it('drops the blocks whose newest decision is older than the retention', () => {
    const { db, log, advance } = setup({ retentionDays: 1 });
    log.append(decision('old'), req, 1);
    log.flushAll();
    advance(2 * 86_400_000);
    log.append(decision('new'), req, 1);
    log.flushAll();
    expect(log.prune()).toBe(1);
    expect(queryDecisions(db, {}).map((r) => r.decisionId)).toEqual(['new']);
    expect(log.prune()).toBe(0);
    advance(2 * 86_400_000);
    expect(log.prune()).toBe(1);
    expect(count(db)).toBe(0);
  });

  it('cuts blocks of at most blockRows decisions, keeps seq global and the decisions view whole', () => {
    const { db, log } = setup({ blockRows: 4, queueMax: 100_000 });
    for (let i = 0; i < 23; i++) {
      log.append(decision(`p${i}`), req, 1);
      if (i === 4 || i === 5) log.flushAll(); // a block of 5 rows cut at 4, then a block of one
    }
    log.flushAll();
    const blocks = db.prepare('SELECT first_seq, rows FROM decision_blocks ORDER BY first_seq').all();
    expect(blocks).toEqual(
      [
        [1, 4],
        [5, 1],
        [6, 1],
        [7, 4],
        [11, 4],
        [15, 4],
        [19, 4],
        [23, 1],
      ].map(([first_seq, rows]) => ({ first_seq, rows })),
    );
    const seqs = db.prepare('SELECT seq FROM decisions ORDER BY seq').pluck().all();
    expect(seqs).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(queryDecisions(db, { principal: 'd-1', limit: 100 }).map((r) => r.decisionId)).toEqual(
      Array.from({ length: 23 }, (_, i) => `p${i}`),
    );
  });

  it('with a database file, a writer thread writes what requests append; close drains it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-log-'));
    const file = join(dir, 'log.db');
    const db = openDatabase(file);
    expect(db.pragma('page_size', { simple: true })).toBe(16384); // a new file takes the larger pages
    const log = new DecisionLog(db, file, {
      flushMs: 20,
      queueMax: 100_000,
      overflow: 'block',
      retentionDays: 0,
      logRequests: false,
      blockRows: 4096,
      clock: Date.now,
      warn: () => {},
    }).start();
    for (let i = 0; i < 2500; i++) log.append(decision(`w${i}`), req, 1);
    await log.drain();
    expect(log.stats.written).toBe(2500);
    expect(count(db)).toBe(2500);
    for (let i = 0; i < 100; i++) log.append(decision(`x${i}`), req, 1);
    await log.close();
    expect(count(db)).toBe(2600);
    expect(queryDecisions(db, { limit: 1 })[0]!.request).toBeUndefined();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('when the writer thread dies', () => {
  it('counts what it held as dropped, warns, and writes on the request thread from then on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-log-'));
    const file = join(dir, 'log.db');
    const db = openDatabase(file);
    const warnings: string[] = [];
    const log = new DecisionLog(db, file, {
      flushMs: 10_000,
      queueMax: 100_000,
      overflow: 'block',
      retentionDays: 0,
      logRequests: false,
      blockRows: 4096,
      clock: Date.now,
      warn: (m) => warnings.push(m),
    });
    log.append(decision('before'), req, 1);
    await log.drain();
    expect(log.stats.written).toBe(1);
    await (log as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await until('the warning', () => warnings.some((w) => w.includes('writer stopped')));
    log.append(decision('after'), req, 1);
    await log.close();
    expect(queryDecisions(db, {}).map((r) => r.decisionId)).toEqual(['before', 'after']);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('what is logged is what is read back', () => {
  const name = fc.constantFrom(
    'device',
    'user',
    'read',
    'fleet',
    'sha256:a',
    'sha256:b',
    'ü-名前',
    '',
    'a"b\\c',
    'r1,r2',
  );
  // Ids as requests can carry them: any text, quotes, backslashes and control characters included.
  const text = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
    fc.constantFrom('"', '\\', '\n\u0000', 'dev-1'),
  );
  const ruleId = fc.constantFrom('r1', 'device-read', 'deny-all');
  const entry = fc.record({
    request: fc.record({
      principal: fc.record({ type: name, id: text }),
      action: name,
      resource: fc.record({ type: name, id: text }),
    }),
    allowed: fc.boolean(),
    matched: fc.array(ruleId, { maxLength: 3 }),
    revision: name,
    errors: fc.option(fc.array(fc.record({ code: text, message: text }), { minLength: 1, maxLength: 2 }), {
      nil: undefined,
    }),
    // Latencies are written as integer nanoseconds: every digit count, and 2^31 ns either side.
    latency: fc.oneof(
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.double({ min: 0, max: 8e12, noNaN: true }),
      fc.constantFrom(0.009, 0.01, 0.099, 0.1, 2147483.647, 2147483.648, 2147483.649, 999999999999.999),
    ),
    // Time moves on, or back (a clock set back), within a block and between blocks.
    advance: fc.oneof(
      fc.constant(0),
      fc.integer({ min: -5_000, max: 5_000 }),
      fc.integer({ min: 0, max: 40 * 86_400_000 }),
    ),
    flushAfter: fc.nat(40).map((n) => n === 0), // batches of all sizes, and blocks cut inside them
  });

  it('every field, across batches and blocks that code names differently, with and without the request stored', () => {
    fc.assert(
      fc.property(
        fc.array(entry, { minLength: 1, maxLength: 150 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 64 }),
        (entries, logRequests, blockRows) => {
          const { db, log, advance } = setup({ queueMax: 100_000, blockRows, logRequests });
          const times = entries.map((e, i) => {
            const d: Decision = {
              decision: e.allowed ? 'allow' : 'deny',
              allowed: e.allowed,
              decisionId: `id-${i}`,
              policyRevision: e.revision,
              matched: e.matched.map((rule) => ({ policy: 'p.yaml', rule, effect: 'allow' as const })),
              errors: e.errors,
            };
            const time = advance(e.advance);
            log.append(d, e.request, e.latency);
            if (e.flushAfter) log.flushAll();
            return time;
          });
          log.flushAll();
          const read = db.prepare('SELECT seq FROM decisions ORDER BY seq').pluck().all();
          expect(read).toEqual(entries.map((_, i) => i + 1));
          const byId = new Map(queryDecisions(db, { limit: 1000 }).map((r) => [r.decisionId, r]));
          expect(byId.size).toBe(entries.length);
          entries.forEach((e, i) => {
            expect(byId.get(`id-${i}`)).toEqual({
              decisionId: `id-${i}`,
              time: new Date(times[i]!).toISOString(),
              principalType: e.request.principal.type,
              principalId: e.request.principal.id,
              action: e.request.action,
              resourceType: e.request.resource.type,
              resourceId: e.request.resource.id,
              outcome: e.allowed ? 'allow' : 'deny',
              matched: e.matched,
              policyRevision: e.revision,
              latencyUs: Math.round(e.latency * 1000) / 1000, // kept to the nanosecond
              ...(e.errors ? { errors: e.errors } : {}),
              ...(logRequests ? { request: e.request } : {}),
            });
          });
          db.close();
        },
      ),
      { numRuns: depth(25, 200) },
    );
  });

  it('an id of any length reads back whole, escaped or not; a lone surrogate as U+FFFD', () => {
    const { db, log } = setup({ queueMax: 100_000 });
    const ids = ['a'.repeat(300_000), 'é"'.repeat(150_000), 'x\ud800y', '\udc00'];
    ids.forEach((id, i) => log.append(decision(`long-${i}`), { ...req, resource: { type: 'fleet', id } }, 1));
    log.flushAll();
    expect(queryDecisions(db, {}).map((r) => r.resourceId)).toEqual([ids[0], ids[1], 'x\ufffdy', '\ufffd']);
    db.close();
  });

  it('ids that are not well-formed UTF-16 (lone surrogates) never spoil a block: the other rows read back whole', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 6 }), { minLength: 1, maxLength: 30 }), (ids) => {
        const { db, log } = setup({ queueMax: 100_000 });
        ids.forEach((id, i) => log.append(decision(`id-${i}`), { ...req, principal: { type: 'device', id } }, 1));
        log.flushAll();
        const read = queryDecisions(db, { limit: 1000 });
        expect(read.map((r) => r.decisionId)).toEqual(ids.map((_, i) => `id-${i}`));
        read.forEach((r, i) => {
          expect(r.principalId).toBe(ids[i]!.replace(/\p{Cs}/gu, '\uFFFD')); // a lone surrogate reads back as U+FFFD
          expect(r.resourceId).toBe('f-1');
        });
        db.close();
      }),
      { numRuns: depth(25, 200) },
    );
  });

  it('queries that skip blocks (by time range, by id filter) answer what filtering every row answers', () => {
    const id = fc.constantFrom('d-1', 'd-2', 'd-3', 'dé-4', 'f-1', 'x');
    const row = fc.record({ t: fc.integer({ min: 0, max: 10_000 }), principal: id, resource: id });
    const query = fc.record({
      a: fc.integer({ min: 0, max: 10_000 }),
      b: fc.integer({ min: 0, max: 10_000 }),
      time: fc.boolean(),
      principal: fc.option(id, { nil: undefined }),
      resource: fc.option(id, { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 60 }), query, (rows, q) => {
        const start = Date.parse('2026-06-01T00:00:00Z');
        let now = start;
        const { db, log } = setup({ queueMax: 100_000, blockRows: 5, clock: () => now });
        rows.forEach((r, i) => {
          now = start + r.t;
          log.append(
            decision(`id-${i}`),
            { ...req, principal: { type: 'device', id: r.principal }, resource: { type: 'device', id: r.resource } },
            1,
          );
          if (i % 7 === 3) log.flushAll();
        });
        log.flushAll();
        const [since, until] = q.time
          ? [start + Math.min(q.a, q.b), start + Math.max(q.a, q.b)]
          : [undefined, undefined];
        const expected = rows
          .map((r, i) => ({ ...r, time: start + r.t, i }))
          .filter((r) => (since === undefined || r.time >= since) && (until === undefined || r.time < until))
          .filter(
            (r) =>
              (q.principal === undefined || r.principal === q.principal) &&
              (q.resource === undefined || r.resource === q.resource),
          )
          .sort((x, y) => x.time - y.time || x.i - y.i)
          .map((r) => `id-${r.i}`);
        expect(
          queryDecisions(db, { since, until, principal: q.principal, resource: q.resource, limit: 1000 }).map(
            (r) => r.decisionId,
          ),
        ).toEqual(expected);
        db.close();
      }),
      { numRuns: depth(120, 300) },
    );
  });
});

describe('the log on disk', () => {
  const hasSqlite3 = (() => {
    try {
      execFileSync('sqlite3', ['-version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it('is read by plain SQLite: the sqlite3 command (or a connection with no function of ours) reads the view, and audit queries run on it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-log-'));
    const file = join(dir, 'log.db');
    const { log } = setup({ queueMax: 100_000 });
    const db = openDatabase(file);
    const writer = new DecisionLog(db, undefined, {
      flushMs: 250,
      queueMax: 100,
      overflow: 'block',
      retentionDays: 0,
      logRequests: false,
      blockRows: 2,
      clock: () => Date.parse('2026-06-01T00:00:00Z'),
      warn: () => {},
    });
    void log.close();
    for (const id of ['a', 'b', 'c']) writer.append(decision(id), { ...req, principal: { type: 'device', id } }, 2.5);
    writer.flushAll();
    db.close();
    const expected = [
      ['a', 'device', 'a', 'read', 'fleet', 'f-1', 'deny', '', 'sha256:x', 2.5],
      ['b', 'device', 'b', 'read', 'fleet', 'f-1', 'deny', '', 'sha256:x', 2.5],
    ];
    const select =
      'SELECT id, principal_type, principal_id, action, resource_type, resource_id, outcome, matched, policy_revision, latency_us FROM decisions ORDER BY seq LIMIT 2';
    if (hasSqlite3) {
      const out = execFileSync('sqlite3', ['-json', file, select], { encoding: 'utf8' });
      expect(JSON.parse(out).map((r: Record<string, unknown>) => Object.values(r))).toEqual(expected);
    }
    const plain = new Database(file, { readonly: true });
    expect(plain.prepare(select).raw().all()).toEqual(expected);
    expect(queryDecisions(plain, { principal: 'c' }).map((r) => r.decisionId)).toEqual(['c']);
    expect(queryDecisions(plain, { resource: 'f-1', since: Date.parse('2026-06-01T00:00:00Z') }).length).toBe(3);
    plain.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the view the row table makes (a change to the fields needs a migration that recreates it)', () => {
    const db = openDatabase(':memory:');
    const stored = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'decisions'").pluck().get();
    expect(stored).toBe(DECISIONS_VIEW);
    db.close();
  });
});
