// The decision log's promises: a full queue is never silent, nothing queued is lost on close, retention.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import { openDatabase } from '../../server/store/database.js';
import { DecisionLog, queryDecisions, type DecisionLogOptions } from '../../server/store/decision-log.js';
import { MIGRATIONS } from '../../server/store/migrations.js';

const req: AuthorizeRequest = { principal: { type: 'device', id: 'd-1' }, action: 'read', resource: { type: 'fleet', id: 'f-1' } };
const decision = (id: string): Decision => ({ decision: 'deny', allowed: false, decisionId: id, policyRevision: 'sha256:x', matched: [] });

function setup(options: Partial<DecisionLogOptions>) {
  const db = openDatabase(':memory:');
  const warnings: string[] = [];
  let now = Date.parse('2026-06-01T00:00:00Z');
  const log = new DecisionLog(db, undefined, {
    flushMs: 250,
    logRequests: true,
    partitionRows: 1000,
    queueMax: 10,
    overflow: 'block',
    retentionDays: 30,
    clock: () => now,
    warn: (m) => warnings.push(m),
    ...options,
  });
  return { db, log, warnings, advance: (ms: number) => (now += ms) };
}

const count = (db: ReturnType<typeof openDatabase>) => (db.prepare('SELECT count(*) AS n FROM decisions').get() as { n: number }).n;

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
    db.exec('CREATE TRIGGER refuse BEFORE INSERT ON decisions_0 BEGIN SELECT RAISE(ABORT, \'disk says no\'); END;');
    log.append(decision('a'), req, 1);
    log.flushAll();
    expect(log.stats.writeErrors).toBe(1);
    expect(log.queueDepth).toBe(1);
    expect(warnings[0]).toContain('write failed');
    db.exec('DROP TRIGGER refuse');
    void log.close();
    expect(count(db)).toBe(1);
  });

  it('drops partitions older than the retention, never the one being written', () => {
    const { db, log, advance } = setup({ retentionDays: 1, partitionRows: 1 });
    log.append(decision('old'), req, 1);
    log.flushAll();
    advance(2 * 86_400_000);
    log.append(decision('new'), req, 1);
    log.flushAll();
    expect(log.prune()).toBe(1);
    expect(queryDecisions(db, {}).map((r) => r.decisionId)).toEqual(['new']);
    advance(2 * 86_400_000);
    expect(log.prune()).toBe(0); // 'new' is in the partition being written
  });

  it('rotates partitions, keeps seq global and the decisions view whole', () => {
    const { db, log } = setup({ partitionRows: 10, queueMax: 100_000 });
    for (let i = 0; i < 35; i++) {
      log.append(decision(`p${i}`), req, 1);
      if (i % 5 === 4) log.flushAll();
    }
    log.flushAll();
    const partitions = db.prepare('SELECT name, rows FROM decision_partitions ORDER BY number').all();
    expect(partitions).toEqual([{ name: 'decisions_0', rows: 10 }, { name: 'decisions_1', rows: 10 }, { name: 'decisions_2', rows: 10 }, { name: 'decisions_3', rows: 5 }]);
    // Sealed partitions are indexed; the one being written is not (yet).
    const indexes = db.prepare("SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name LIKE '%_principal' ORDER BY tbl_name").pluck().all();
    expect(indexes).toEqual(['decisions_0', 'decisions_1', 'decisions_2']);
    const seqs = db.prepare('SELECT seq FROM decisions ORDER BY seq').pluck().all();
    expect(seqs).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    expect(queryDecisions(db, { principal: 'd-1', limit: 100 }).map((r) => r.decisionId)).toEqual(Array.from({ length: 35 }, (_, i) => `p${i}`));
  });

  it('with a database file, a writer thread writes what requests append; close drains it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-log-'));
    const file = join(dir, 'log.db');
    const db = openDatabase(file);
    expect(db.pragma('page_size', { simple: true })).toBe(16384); // a new file takes the larger pages
    const log = new DecisionLog(db, file, { flushMs: 20, queueMax: 100_000, overflow: 'block', retentionDays: 0, logRequests: false, partitionRows: 1000, clock: Date.now, warn: () => {} }).start();
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
    const log = new DecisionLog(db, file, { flushMs: 10_000, queueMax: 100_000, overflow: 'block', retentionDays: 0, logRequests: false, partitionRows: 1000, clock: Date.now, warn: (m) => warnings.push(m) });
    log.append(decision('before'), req, 1);
    await log.drain();
    expect(log.stats.written).toBe(1);
    await (log as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((r) => setTimeout(r, 20));
    expect(warnings.some((w) => w.includes('writer stopped'))).toBe(true);
    log.append(decision('after'), req, 1);
    await log.close();
    expect(queryDecisions(db, {}).map((r) => r.decisionId)).toEqual(['before', 'after']);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('what is logged is what is read back', () => {
  const name = fc.constantFrom('device', 'user', 'read', 'fleet', 'sha256:a', 'sha256:b', 'ü-名前', '');
  const text = fc.string({ unit: 'grapheme', maxLength: 8 });
  const ruleId = fc.constantFrom('r1', 'device-read', 'deny-all');
  const entry = fc.record({
    request: fc.record({ principal: fc.record({ type: name, id: text }), action: name, resource: fc.record({ type: name, id: text }) }),
    allowed: fc.boolean(),
    matched: fc.array(ruleId, { maxLength: 3 }),
    revision: name,
    errors: fc.option(fc.array(fc.record({ code: text, message: text }), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    latency: fc.double({ min: 0, max: 1e6, noNaN: true }),
    flushAfter: fc.nat(40).map((n) => n === 0), // batches of all sizes, some over one multi-row INSERT
  });

  it('every field, across batches that code names differently, with and without the request stored', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 150 }), fc.boolean(), (entries, logRequests) => {
        const { db, log } = setup({ queueMax: 100_000, partitionRows: 1000, logRequests });
        entries.forEach((e, i) => {
          const d: Decision = {
            decision: e.allowed ? 'allow' : 'deny', allowed: e.allowed, decisionId: `id-${i}`, policyRevision: e.revision,
            matched: e.matched.map((rule) => ({ policy: 'p.yaml', rule, effect: 'allow' as const })), errors: e.errors,
          };
          log.append(d, e.request, e.latency);
          if (e.flushAfter) log.flushAll();
        });
        log.flushAll();
        const read = queryDecisions(db, { limit: 1000 });
        expect(read).toHaveLength(entries.length);
        read.forEach((r, i) => {
          const e = entries[i]!;
          expect(r).toEqual({
            decisionId: `id-${i}`, time: '2026-06-01T00:00:00.000Z',
            principalType: e.request.principal.type, principalId: e.request.principal.id, action: e.request.action,
            resourceType: e.request.resource.type, resourceId: e.request.resource.id,
            outcome: e.allowed ? 'allow' : 'deny', matched: e.matched, policyRevision: e.revision, latencyUs: e.latency,
            ...(e.errors ? { errors: e.errors } : {}), ...(logRequests ? { request: e.request } : {}),
          });
        });
        db.close();
      }),
      { numRuns: 200 },
    );
  });

  it('a log written before names were coded (schema 3) stays readable, and new decisions follow it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-log-'));
    const file = join(dir, 'old.db');
    const old = new Database(file);
    MIGRATIONS.slice(0, 3).forEach((m) => old.exec(m));
    old.pragma('user_version = 3');
    old.prepare(`INSERT INTO decisions_0 VALUES (1, 'old-1', ?, 'device', 'd-1', 'read', 'fleet', 'f-1', 'allow', 'device-read', 'sha256:old', 2.5, NULL, NULL)`).run(Date.parse('2026-05-01T00:00:00Z'));
    old.exec(`UPDATE decision_partitions SET rows = 1, first_time = 0, last_time = 0 WHERE number = 0`);
    old.close();

    const db = openDatabase(file);
    const log = new DecisionLog(db, undefined, { flushMs: 250, queueMax: 100, overflow: 'block', retentionDays: 0, logRequests: false, partitionRows: 1000, clock: () => Date.parse('2026-06-01T00:00:00Z'), warn: () => {} });
    log.append(decision('new-1'), req, 1);
    log.flushAll();
    const rows = queryDecisions(db, { principal: 'd-1' });
    expect(rows.map((r) => [r.decisionId, r.outcome, r.matched, r.policyRevision])).toEqual([['old-1', 'allow', ['device-read'], 'sha256:old'], ['new-1', 'deny', [], 'sha256:x']]);
    expect(db.prepare('SELECT name, rows, format FROM decision_partitions ORDER BY number').all()).toEqual([{ name: 'decisions_0', rows: 1, format: 1 }, { name: 'decisions_1', rows: 1, format: 2 }]);
    expect(queryDecisions(db, { outcome: 'deny' }).map((r) => r.decisionId)).toEqual(['new-1']);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
