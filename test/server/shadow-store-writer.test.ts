// Shadow disagreements are written on the decision log's writer thread (DecisionLog.runBeside), so the
// request thread never waits for the file's write lock: with another connection holding that lock, a
// flush returns at once and the block is written once the lock is free. Statements sent beside the log
// run after the rows queued before them, and one that fails rejects without stopping the log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionLog } from '../../server/decision-log/decision-log.js';
import type { Disagreement } from '../../server/shadow/disagreement.js';
import { SqliteShadowStore } from '../../server/shadow/sqlite-shadow-store.js';
import { openDatabase } from '../../server/store/database.js';
import { denyDecision, sampleRequest } from '../support/sample-decision.js';

const request = sampleRequest;
const decision = denyDecision;
const disagreement = (id: string): Disagreement => ({
  decisionId: id,
  time: Date.parse('2026-06-01T00:00:00Z'),
  direction: 'widened',
  liveRevision: 'sha256:live',
  candidateRevision: 'sha256:candidate',
  principal: request.principal,
  action: request.action,
  resource: request.resource,
  live: { outcome: 'deny', matched: [] },
  candidate: { outcome: 'allow', matched: [{ policy: 'p.yaml', rule: 'r', effect: 'allow' }] },
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function open() {
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-beside-'));
  const file = join(dir, 'sidecar.db');
  const db = openDatabase(file);
  const log = new DecisionLog(db, file, {
    flushMs: 3_600_000, // flushed by the test
    queueMax: 100_000,
    overflow: 'block',
    retentionDays: 0,
    logRequests: false,
    blockRows: 4096,
    clock: Date.now,
    warn: () => {},
  });
  const warnings: string[] = [];
  const store = new SqliteShadowStore(db, {
    flushMs: 3_600_000,
    queueMax: 1_000,
    retentionDays: 0,
    clock: Date.now,
    warn: (m) => warnings.push(m),
    write: (sql, params) => log.runBeside(sql, params),
  });
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanup.push(() => void db.close());
  cleanup.push(() => log.close());
  const stored = () =>
    (db.prepare('SELECT decision_id FROM shadow_disagreements ORDER BY seq').all() as { decision_id: string }[]).map(
      (r) => r.decision_id,
    );
  return { file, db, log, store, warnings, stored };
}

describe('shadow disagreements beside the decision log', () => {
  it('a flush never waits for the write lock on the request thread: the block is written once the lock is free', async () => {
    const { file, store, stored } = open();
    const locker = new Database(file);
    cleanup.push(() => void locker.close());
    locker.exec('BEGIN IMMEDIATE'); // another writer holds the file's write lock
    store.append([disagreement('s-1'), disagreement('s-2')]);
    let settled = false;
    const drained = store.drain().then(() => (settled = true));
    // On the request thread the insert would have waited here for the lock (busy_timeout) and then failed.
    expect(store.stats).toEqual({ written: 0, dropped: 0, writeErrors: 0 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    expect(stored()).toEqual([]);
    locker.exec('COMMIT');
    await drained;
    expect(store.stats).toEqual({ written: 2, dropped: 0, writeErrors: 0 });
    expect(stored()).toEqual(['s-1', 's-2']);
  });

  it('runs after the rows queued before it; a failing statement rejects, is retried by the store, and the log goes on', async () => {
    const { db, log, store, warnings, stored } = open();
    for (let i = 0; i < 300; i++) log.append(decision(`d-${i}`), request, 1);
    await log.runBeside('INSERT INTO shadow_blocks (first_time, last_time, data) VALUES (?, ?, ?)', [1, 1, '[]']);
    expect((db.prepare('SELECT count(*) AS n FROM decisions').get() as { n: number }).n).toBe(300);

    await expect(log.runBeside('INSERT INTO no_such_table VALUES (?)', [1])).rejects.toThrow(/no such table/);
    log.append(decision('d-after'), request, 1);
    await log.drain();
    expect((db.prepare('SELECT count(*) AS n FROM decisions').get() as { n: number }).n).toBe(301);

    // The store keeps what failed and writes it on the next flush.
    db.exec('ALTER TABLE shadow_blocks RENAME TO shadow_blocks_away');
    store.append([disagreement('s-3')]);
    await store.drain();
    expect(store.stats).toEqual({ written: 0, dropped: 0, writeErrors: 1 });
    expect(warnings).toEqual(['shadow disagreements could not be written; retrying']);
    db.exec('ALTER TABLE shadow_blocks_away RENAME TO shadow_blocks');
    await store.drain();
    expect(store.stats).toEqual({ written: 1, dropped: 0, writeErrors: 1 });
    expect(stored()).toEqual(['s-3']);
  });
});
