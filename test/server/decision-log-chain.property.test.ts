// The decision log's hash chain (server/decision-log/chain.ts): any single change to the stored blocks or
// their rows is found, and the first block it breaks is the one named; retention keeps the chain whole;
// the migration that added it keeps the log as it was.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import { LogBatchBuilder } from '../../server/decision-log/batch.js';
import { encodeBlocks } from '../../server/decision-log/block.js';
import { addDecisionChain, chainHead, verifyDecisionChain } from '../../server/decision-log/blocks.js';
import { blockHash, hex, type ChainedBlock } from '../../server/decision-log/chain.js';
import { DecisionLog, queryDecisions, type DecisionLogOptions } from '../../server/decision-log/decision-log.js';
import { FIELDS } from '../../server/decision-log/row.js';
import { openDatabase, type Db } from '../../server/store/database.js';
import { MIGRATIONS } from '../../server/store/migrations.js';
import { depth } from '../support/depth.js';
import { REPO_DIR } from '../support/policies.js';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const OUTCOME = FIELDS.findIndex((f) => f.kind === 'outcome');

const request = (principal: string): AuthorizeRequest => ({
  principal: { type: 'device', id: principal },
  action: 'read',
  resource: { type: 'fleet', id: 'f-1' },
});
const decision = (id: string, allowed: boolean): Decision => ({
  decision: allowed ? 'allow' : 'deny',
  allowed,
  decisionId: id,
  policyRevision: 'sha256:x',
  matched: allowed ? [{ policy: 'p.yaml', rule: 'r', effect: 'allow' }] : [],
});

function openLog(db: Db, options: Partial<DecisionLogOptions> = {}) {
  let now = T0;
  const log = new DecisionLog(db, undefined, {
    flushMs: 250,
    queueMax: 100_000,
    overflow: 'block',
    retentionDays: 1,
    logRequests: false,
    blockRows: 4,
    clock: () => now,
    warn: () => {},
    ...options,
  });
  return { log, advance: (ms: number) => (now += ms) };
}

interface Entry {
  principal: string;
  allowed: boolean;
  advance: number;
  flushAfter: boolean;
}

const entry = fc.record({
  principal: fc.string({ maxLength: 6 }),
  allowed: fc.boolean(),
  advance: fc.integer({ min: 0, max: 3_600_000 }),
  flushAfter: fc.nat(5).map((n) => n === 0),
});

/** A log of `entries` in blocks of at most `blockRows`, cut also where an entry flushes; `shippedTo`: a shipper's cursor. */
function writeLog(
  entries: Entry[],
  blockRows: number,
  shippedTo?: number,
): { db: Db; advance: (ms: number) => number; log: DecisionLog } {
  const db = openDatabase(':memory:');
  const { log, advance } = openLog(db, {
    blockRows,
    ...(shippedTo === undefined ? {} : { keepFrom: () => shippedTo }),
  });
  entries.forEach((e, i) => {
    advance(e.advance);
    log.append(decision(`id-${i}`, e.allowed), request(e.principal), 1);
    if (e.flushAfter) log.flushAll();
  });
  log.flushAll();
  return { db, advance, log };
}

type Block = { first_seq: number; rows: number };
const blocksOf = (db: Db) =>
  db.prepare('SELECT first_seq, rows FROM decision_blocks ORDER BY first_seq').all() as Block[];

/** One change an attacker without the chain in mind makes to the stored log, and the block it must be found at. */
type Tamper = (db: Db, blocks: Block[], pick: number[]) => { seq: number } | 'end' | undefined;

const at = (pick: number[], i: number, n: number) => pick[i]! % n;

const TAMPERS: Record<string, Tamper> = {
  'flip a row outcome': (db, blocks, pick) => {
    const b = blocks[at(pick, 0, blocks.length)]!;
    const path = `$[${at(pick, 1, b.rows)}][${OUTCOME}]`;
    db.prepare(`UPDATE decision_blocks SET data = json_replace(data, ?, 1 - (data ->> ?)) WHERE first_seq = ?`).run(
      path,
      path,
      b.first_seq,
    );
    return { seq: b.first_seq };
  },
  'change a row id': (db, blocks, pick) => {
    const b = blocks[at(pick, 0, blocks.length)]!;
    db.prepare(`UPDATE decision_blocks SET data = json_replace(data, ?, 'forged') WHERE first_seq = ?`).run(
      `$[${at(pick, 1, b.rows)}][0]`,
      b.first_seq,
    );
    return { seq: b.first_seq };
  },
  'remove a row (and count one fewer)': (db, blocks, pick) => {
    const b = blocks[at(pick, 0, blocks.length)]!;
    db.prepare('UPDATE decision_blocks SET data = json_remove(data, ?), rows = rows - 1 WHERE first_seq = ?').run(
      `$[${at(pick, 1, b.rows)}]`,
      b.first_seq,
    );
    return { seq: b.first_seq };
  },
  'swap two rows of a block': (db, blocks, pick) => {
    const candidates = blocks.filter((b) => b.rows >= 2);
    if (candidates.length === 0) return undefined;
    const b = candidates[at(pick, 0, candidates.length)]!;
    const i = at(pick, 1, b.rows);
    const j = (i + 1 + at(pick, 2, b.rows - 1)) % b.rows;
    db.prepare(
      `UPDATE decision_blocks SET data = json_set(data, '$[${i}]', data -> '$[${j}]', '$[${j}]', data -> '$[${i}]') WHERE first_seq = ?`,
    ).run(b.first_seq);
    return { seq: b.first_seq };
  },
  'swap rows between two blocks': (db, blocks, pick) => {
    if (blocks.length < 2) return undefined;
    const a = blocks[at(pick, 0, blocks.length)]!;
    const b = blocks[(blocks.indexOf(a) + 1 + at(pick, 1, blocks.length - 1)) % blocks.length]!;
    const [i, j] = [at(pick, 2, a.rows), at(pick, 3, b.rows)];
    const rowA = db
      .prepare('SELECT data -> ? FROM decision_blocks WHERE first_seq = ?')
      .pluck()
      .get(`$[${i}]`, a.first_seq);
    const rowB = db
      .prepare('SELECT data -> ? FROM decision_blocks WHERE first_seq = ?')
      .pluck()
      .get(`$[${j}]`, b.first_seq);
    const set = db.prepare('UPDATE decision_blocks SET data = json_set(data, ?, json(?)) WHERE first_seq = ?');
    set.run(`$[${i}]`, rowB, a.first_seq);
    set.run(`$[${j}]`, rowA, b.first_seq);
    return { seq: Math.min(a.first_seq, b.first_seq) };
  },
  'change a block column': (db, blocks, pick) => {
    const b = blocks[at(pick, 0, blocks.length)]!;
    const change = [
      "names = json_insert(names, '$[#]', 'x')",
      'base_time = base_time + 1',
      'first_time = first_time - 1',
      'last_time = last_time + 1',
      'ids = CAST(zeroblob(length(ids)) AS BLOB)',
      'rows = rows + 1',
      'hash = randomblob(32)',
      'prev_hash = randomblob(32)',
    ][at(pick, 1, 8)]!;
    db.prepare(`UPDATE decision_blocks SET ${change} WHERE first_seq = ?`).run(b.first_seq);
    return { seq: b.first_seq };
  },
  'remove a block': (db, blocks, pick) => {
    const i = at(pick, 0, blocks.length);
    db.prepare('DELETE FROM decision_blocks WHERE first_seq = ?').run(blocks[i]!.first_seq);
    // The block after the gap is the first that breaks; the last block's removal leaves a whole, shorter chain.
    return i + 1 < blocks.length ? { seq: blocks[i + 1]!.first_seq } : 'end';
  },
  'swap two blocks (every column but their place)': (db, blocks, pick) => {
    if (blocks.length < 2) return undefined;
    const i = at(pick, 0, blocks.length);
    const j = (i + 1 + at(pick, 1, blocks.length - 1)) % blocks.length;
    const [a, b] = [blocks[i]!.first_seq, blocks[j]!.first_seq];
    db.exec(`UPDATE decision_blocks SET first_seq = -1 WHERE first_seq = ${a};
      UPDATE decision_blocks SET first_seq = ${a} WHERE first_seq = ${b};
      UPDATE decision_blocks SET first_seq = ${b} WHERE first_seq = -1;`);
    return { seq: Math.min(a, b) };
  },
};

describe('the chain finds any single change and names the first block it breaks', () => {
  for (const [name, tamper] of Object.entries(TAMPERS)) {
    it(name, () => {
      fc.assert(
        fc.property(
          fc.array(entry, { minLength: 1, maxLength: 40 }),
          fc.integer({ min: 1, max: 6 }),
          fc.array(fc.nat(1000), { minLength: 4, maxLength: 4 }),
          (entries, blockRows, pick) => {
            const { db } = writeLog(entries, blockRows);
            const whole = verifyDecisionChain(db);
            expect(whole.broken).toBeUndefined();
            expect(whole.decisions).toBe(entries.length);
            const blocks = blocksOf(db);
            expect(whole.blocks).toBe(blocks.length);
            const head = whole.head;
            const expected = tamper(db, blocks, pick);
            if (expected === undefined) return;
            const report = verifyDecisionChain(db, head);
            if (expected === 'end') {
              // Only a head kept elsewhere tells a chain cut short from a whole one.
              expect(verifyDecisionChain(db).broken).toBeUndefined();
              expect(report.broken?.kind).toBe('head-not-found');
            } else {
              expect(report.broken?.seq).toBe(expected.seq);
              expect(report.broken?.position).toBe(blocksOf(db).findIndex((b) => b.first_seq === expected.seq) + 1);
              expect(report.broken?.message).toContain(`block ${expected.seq} `);
            }
            db.close();
          },
        ),
        { numRuns: depth(25, 600) },
      );
    });
  }

  it('a head kept elsewhere passes while the chain holds it, and the head moves on as blocks are written', () => {
    const { db, log } = writeLog(
      Array.from({ length: 9 }, (_, i) => ({ principal: `d-${i}`, allowed: true, advance: 1, flushAfter: false })),
      4,
    );
    const first = verifyDecisionChain(db);
    expect(first).toMatchObject({ blocks: 3, decisions: 9, startSeq: 1, nextSeq: 10 });
    expect(first.head).toBe(hex(chainHead(db).hash));
    log.append(decision('later', true), request('d-9'), 1);
    log.flushAll();
    const later = verifyDecisionChain(db, first.head);
    expect(later.broken).toBeUndefined();
    expect(later.head).not.toBe(first.head);
    expect(verifyDecisionChain(db, 'ab'.repeat(32)).broken?.kind).toBe('head-not-found');
    db.close();
  });

  it('an attacker who rewrites the chain from a block on passes the file alone, not a head kept from before', () => {
    const { db } = writeLog(
      Array.from({ length: 12 }, (_, i) => ({ principal: `d-${i}`, allowed: false, advance: 1, flushAfter: false })),
      4,
    );
    const kept = verifyDecisionChain(db).head;
    // Every denial after the first block becomes an allow, and the hashes are recomputed as the writer would.
    db.prepare(
      `UPDATE decision_blocks SET data = (SELECT json_group_array(json(json_replace(value, '$[${OUTCOME}]', 1))) FROM json_each(data))
       WHERE first_seq > 1`,
    ).run();
    rehash(db);
    expect(queryDecisions(db, { limit: 100 }).filter((d) => d.outcome === 'allow')).toHaveLength(8);
    expect(verifyDecisionChain(db).broken).toBeUndefined();
    expect(verifyDecisionChain(db, kept).broken?.kind).toBe('head-not-found');
    db.close();
  });
});

/** Recomputes every block's hashes from the chain's start, as anyone who knows the encoding can. */
function rehash(db: Db): void {
  const { chainId, startHash } = db
    .prepare('SELECT chain_id AS chainId, start_hash AS startHash FROM decision_chain')
    .get() as { chainId: string; startHash: Buffer };
  const stored = db
    .prepare(
      `SELECT first_seq AS firstSeq, rows, base_time AS baseTime, first_time AS firstTime, last_time AS lastTime,
        CAST(names AS BLOB) AS names, CAST(data AS BLOB) AS data, ids, prev_hash AS prevHash, hash
       FROM decision_blocks ORDER BY first_seq`,
    )
    .all() as ChainedBlock[];
  const update = db.prepare('UPDATE decision_blocks SET prev_hash = ?, hash = ? WHERE first_seq = ?');
  let prev: Uint8Array = startHash;
  for (const b of stored) {
    const hash = blockHash(chainId, { ...b, prevHash: prev });
    update.run(prev, hash, b.firstSeq);
    prev = hash;
  }
}

describe('retention removes blocks from the front only, and the chain still verifies', () => {
  it('after any retention the chain verifies, counts what was removed, and breaks when a block is then removed from the middle or the front', () => {
    fc.assert(
      fc.property(
        fc.array(entry, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 48 * 3_600_000 }),
        fc.array(entry, { maxLength: 10 }),
        fc.option(fc.nat(45), { nil: undefined }),
        (entries, blockRows, wait, more, shippedTo) => {
          const { db, log, advance } = writeLog(entries, blockRows, shippedTo);
          const before = blocksOf(db);
          advance(wait);
          const dropped = log.prune();
          const after = blocksOf(db);
          // Only a prefix of the blocks is gone; with a shipper, never a block it has not shipped, nor the newest.
          expect(before.slice(before.length - after.length)).toEqual(after);
          if (shippedTo !== undefined) {
            expect(after.length).toBeGreaterThan(0);
            expect(before.slice(0, before.length - after.length).every((b) => b.first_seq + b.rows <= shippedTo)).toBe(
              true,
            );
          }
          const report = verifyDecisionChain(db);
          expect(report.broken).toBeUndefined();
          expect(report).toMatchObject({
            blocks: after.length,
            decisions: entries.length - dropped,
            droppedBlocks: before.length - after.length,
            droppedDecisions: dropped,
            startSeq: after[0]?.first_seq ?? entries.length + 1,
            nextSeq: entries.length + 1,
          });
          // Decisions written after retention (even after it removed every block) carry on the chain and its seqs.
          more.forEach((e, i) => {
            advance(e.advance);
            log.append(decision(`more-${i}`, e.allowed), request(e.principal), 1);
          });
          log.flushAll();
          const extended = verifyDecisionChain(db, report.head);
          expect(extended.broken).toBeUndefined();
          expect(extended.nextSeq).toBe(entries.length + more.length + 1);
          const kept = blocksOf(db);
          if (kept.length >= 3) {
            db.prepare('DELETE FROM decision_blocks WHERE first_seq = ?').run(kept[1]!.first_seq);
            expect(verifyDecisionChain(db).broken).toMatchObject({ seq: kept[2]!.first_seq, kind: 'missing-before' });
          } else if (kept.length === 2) {
            db.prepare('DELETE FROM decision_blocks WHERE first_seq = ?').run(kept[0]!.first_seq);
            expect(verifyDecisionChain(db).broken).toMatchObject({ seq: kept[1]!.first_seq, kind: 'missing-before' });
          }
          db.close();
        },
      ),
      { numRuns: depth(40, 1000) },
    );
  });

  it('an old block behind a newer one (a clock set back) stays until the front reaches it', () => {
    const db = openDatabase(':memory:');
    const { log, advance } = openLog(db, { blockRows: 1 });
    advance(5 * 86_400_000);
    log.append(decision('new', true), request('d-1'), 1);
    advance(-5 * 86_400_000);
    log.append(decision('old', true), request('d-1'), 1);
    log.flushAll();
    advance(2 * 86_400_000);
    expect(log.prune()).toBe(0);
    expect(blocksOf(db)).toHaveLength(2);
    advance(5 * 86_400_000);
    expect(log.prune()).toBe(2);
    expect(verifyDecisionChain(db)).toMatchObject({ blocks: 0, droppedBlocks: 2, startSeq: 3, nextSeq: 3 });
    db.close();
  });
});

describe('one chain for the sidecars sharing a file', () => {
  it('writers on separate connections, taking turns, extend one chain', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-chain-'));
    const file = join(dir, 'log.db');
    const connections = [openDatabase(file), openDatabase(file), openDatabase(file)];
    const logs = connections.map((db) => openLog(db, { blockRows: 3 }).log);
    for (let i = 0; i < 30; i++) {
      const log = logs[(i * 7) % 3]!;
      log.append(decision(`id-${i}`, i % 2 === 0), request(`d-${i}`), 1);
      if (i % 4 === 0) log.flushAll();
    }
    for (const log of logs) log.flushAll();
    const report = verifyDecisionChain(connections[1]!);
    expect(report).toMatchObject({ blocks: blocksOf(connections[0]!).length, decisions: 30, startSeq: 1, nextSeq: 31 });
    expect(report.broken).toBeUndefined();
    for (const db of connections) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the sidecar is told the head at start, and the new head once everything is written on close', async () => {
    const db = openDatabase(':memory:');
    const heads: string[] = [];
    const { log } = openLog(db, { exportHead: (h) => heads.push(`${h.nextSeq}:${h.hash}`) });
    log.start();
    expect(heads).toEqual([`1:${'0'.repeat(64)}`]);
    log.append(decision('a', true), request('d-1'), 1);
    await log.close();
    const report = verifyDecisionChain(db);
    expect(heads).toEqual([`1:${'0'.repeat(64)}`, `2:${report.head}`]);
    db.close();
  });
});

describe('the migration that adds the chain', () => {
  it('adds columns and a table (no table rebuilt), chains the blocks already written, and reads the log as before', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-chain-'));
    const file = join(dir, 'log.db');
    // A file at the schema version before the chain, with blocks written the way that version wrote them.
    const version = MIGRATIONS.indexOf(addDecisionChain);
    const old = new Database(file);
    for (const m of MIGRATIONS.slice(0, version)) typeof m === 'string' ? old.exec(m) : m(old);
    old.pragma(`user_version = ${version}`);
    const builder = new LogBatchBuilder();
    for (let i = 0; i < 10; i++) builder.push(decision(`id-${i}`, i % 3 === 0), request(`d-${i}`), T0 + i, 1, false);
    const insert = old.prepare('INSERT INTO decision_blocks VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?)');
    let seq = 1;
    for (const b of encodeBlocks([builder.take()], 4)) {
      insert.run(seq, b.rows, b.baseTime, b.firstTime, b.lastTime, b.names, b.data, b.ids);
      seq += b.rows;
    }
    const columns = (db: Db) => db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('decision_blocks');
    const oldColumns = columns(old);
    const decisions = queryDecisions(old, { limit: 100 });
    old.close();

    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(columns(db)).toEqual([...oldColumns, 'prev_hash', 'hash']);
    expect(queryDecisions(db, { limit: 100 })).toEqual(decisions);
    const report = verifyDecisionChain(db);
    expect(report).toMatchObject({ blocks: 3, decisions: 10, startSeq: 1, nextSeq: 11 });
    expect(report.broken).toBeUndefined();
    expect(report.chainId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // New blocks carry on from the chained ones.
    const { log } = openLog(db);
    log.append(decision('after', true), request('d-x'), 1);
    log.flushAll();
    expect(verifyDecisionChain(db, report.head)).toMatchObject({ blocks: 4, decisions: 11 });
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('the encoding as docs/architecture.md gives it', () => {
  const hasPython = spawnSync('python3', ['--version']).status === 0;

  it.skipIf(!hasPython)("the doc's Python verifier, with nothing of Fleetguard's, agrees with audit --verify", () => {
    const doc = readFileSync(join(REPO_DIR, 'docs/architecture.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Decision log integrity'));
    const code = section.slice(
      section.indexOf('```python\n') + 10,
      section.indexOf('\n```', section.indexOf('```python\n')),
    );
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-chain-'));
    const file = join(dir, 'log.db');
    const db = openDatabase(file);
    const { log, advance } = openLog(db, { blockRows: 7, logRequests: true });
    for (let i = 0; i < 40; i++) {
      advance(3_600_000);
      log.append(decision(`id-${i}`, i % 3 === 0), request(i % 4 ? `dé-${i}` : 'x\ud800"'), 1.5);
    }
    log.flushAll();
    advance(1);
    expect(log.prune()).toBeGreaterThan(0); // the chain then starts after the genesis
    const report = verifyDecisionChain(db);
    db.close();
    const python = (path: string) => spawnSync('python3', ['-c', code, path], { encoding: 'utf8' });
    expect(python(file).stdout.trim()).toBe(report.head);
    const tampered = new Database(file);
    tampered.exec(
      `UPDATE decision_blocks SET data = json_replace(data, '$[0][0]', 'forged') WHERE first_seq = ${report.startSeq + 7}`,
    );
    tampered.close();
    const broken = python(file);
    expect(broken.status).not.toBe(0);
    expect(broken.stderr.trim()).toBe(`broken at block ${report.startSeq + 7}`);
    rmSync(dir, { recursive: true, force: true });
  });
});
