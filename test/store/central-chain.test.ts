// The central log verifies (issue 19 item 4 on issue 16's central log), on a real PostgreSQL: the blocks
// shipped with the rows are each sidecar's chain as its file holds it, checked by the file's own verifier;
// a block modified or removed centrally, and a decision_log row modified, removed or added beside the
// blocks, fail naming the chain and the first block; two sidecars' chains verify side by side.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import { verifyDecisionChain } from '../../server/decision-log/blocks.js';
import { ExpectHeadError } from '../../server/decision-log/chain.js';
import { DecisionLog } from '../../server/decision-log/decision-log.js';
import { readShipCursor } from '../../server/decision-log/ship-cursor.js';
import { openDatabase, type Db } from '../../server/store/database.js';
import { MIGRATIONS } from '../../server/store/migrations.js';
import { PgDecisionReader } from '../../server/store/postgres/central-log.js';
import { createPool, type Pool } from '../../server/store/postgres/connection.js';
import { DecisionShipper } from '../../server/store/postgres/decision-shipper.js';
import { migrate } from '../../server/store/postgres/migrations.js';
import { fleetguard } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { depth } from '../support/depth.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';

const START = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

function decision(id: string, allowed: boolean): Decision {
  return { decision: allowed ? 'allow' : 'deny', allowed, decisionId: id, policyRevision: 'sha256:x', matched: [] };
}

const request = (principal: string): AuthorizeRequest => ({
  principal: { type: 'device', id: principal },
  action: 'read',
  resource: { type: 'fleet', id: 'f-1' },
});

/** A sidecar's log in memory (written inline, 10 decisions a block), `count` decisions, `daily` a day apart each 10. */
function sidecarLog(name: string, count: number, retentionDays = 0): { db: Db; log: DecisionLog; now: () => number } {
  const db = openDatabase(':memory:');
  let now = START;
  const log = new DecisionLog(db, undefined, {
    flushMs: 250,
    queueMax: 1_000_000,
    overflow: 'block',
    retentionDays,
    logRequests: true,
    blockRows: 10,
    clock: () => now,
    warn: () => {},
  });
  for (let i = 0; i < count; i++) {
    const d = decision(`${name}-${i}`, i % 3 === 0);
    if (i % 7 === 0) d.errors = [{ code: 'evaluation_error', message: `rule r1: ${name}` }] as never;
    log.append(d, request(i % 2 ? `d-${i}` : 'nul\u0000'), 1.5);
    if (i % 10 === 9) {
      log.flushAll();
      now += DAY;
    }
  }
  log.flushAll();
  return { db, log, now: () => now };
}

async function ship(db: Db, pool: Pool): Promise<DecisionShipper> {
  const shipper = new DecisionShipper(db, pool, { warn: () => {}, batchRows: 25 });
  while ((await shipper.shipOnce()) > 0);
  return shipper;
}

describe.skipIf(!postgresAvailable)('the central log verifies', () => {
  let database: TestDatabase;
  let pool: Pool;
  let reader: PgDecisionReader;
  const a = sidecarLog('a', 50);
  const b = sidecarLog('b', 30);
  const chainA = verifyDecisionChain(a.db);
  const chainB = verifyDecisionChain(b.db);

  beforeAll(async () => {
    database = await createTestDatabase('central_chain');
    pool = createPool(database.url);
    await migrate(pool);
    reader = new PgDecisionReader(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE decision_log, decision_log_blocks, decision_log_chains');
    for (const { db } of [a, b]) {
      db.prepare('UPDATE decision_log_ship SET shipped_to = 1').run();
      await ship(db, pool);
    }
  });

  const broken = async () => (await reader.verify()).filter((r) => r.broken);

  it("holds each sidecar's chain as its file does: same chain id, decisions and head; the shipper's log id is the chain id", async () => {
    const reports = await reader.verify();
    const byChain = new Map(reports.map((r) => [r.chainId, r]));
    expect(reports).toHaveLength(2);
    for (const local of [chainA, chainB]) {
      expect(byChain.get(local.chainId)).toEqual(local);
    }
    expect(new DecisionShipper(a.db, pool, { warn: () => {} }).logId).toBe(chainA.chainId);
    const { rows } = await pool.query('SELECT DISTINCT log_id FROM decision_log ORDER BY log_id');
    expect(rows.map((r) => r.log_id)).toEqual([chainA.chainId, chainB.chainId].sort());
    // Shipping again (the cursor lost) changes nothing.
    a.db.prepare('UPDATE decision_log_ship SET shipped_to = 1').run();
    await ship(a.db, pool);
    expect(await reader.verify()).toEqual(reports);
  });

  it('fleetguard audit --verify --store: a line a chain, exit 1 naming the chain and block, CHAIN:HASH', async () => {
    // What --verify prints and its exit 0, from audit's main() in this process; exit 2 and exit 1 from real ones.
    const ok = await fleetguardInProcess(['audit', '--verify', '--store', database.url]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout.trimEnd().split('\n').sort()).toEqual(
      [chainA, chainB]
        .map(
          (c) =>
            `ok: ${c.blocks} block(s), ${c.decisions} decision(s) verified; chain ${c.chainId} starts at decision 1; head ${c.head} (next decision ${c.nextSeq})`,
        )
        .sort(),
    );
    const head = `${chainA.chainId}:${chainA.head}`;
    expect(
      (await fleetguardInProcess(['audit', '--verify', '--store', database.url, '--expect-head', head])).status,
    ).toBe(0);
    const bare = fleetguard(['audit', '--verify', '--store', database.url, '--expect-head', chainA.head]);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(
      /--expect-head: the log holds 2 chains: say which one the head is of \(--expect-head CHAIN:HASH\)/,
    );
    await pool.query("UPDATE decision_log SET outcome = 'allow' WHERE id = 'a-31'");
    const broken = fleetguard(['audit', '--verify', '--store', database.url]);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain(
      `broken: chain ${chainA.chainId}: block 31 (decisions 31–40, block 4 of the log): decision_log's row for decision a-31 (seq 32) is not the block's: a row was modified; 3 block(s), 30 decision(s) verified before it`,
    );
  });

  it('applies a head kept for a chain (CHAIN:HASH); a bare hash needs a log of one chain', async () => {
    const ok = await reader.verify([{ chainId: chainA.chainId, hash: chainA.head }]);
    expect(ok.filter((r) => r.broken)).toEqual([]);
    const wrong = await reader.verify([{ chainId: chainB.chainId, hash: chainA.head }]);
    expect(wrong.find((r) => r.chainId === chainB.chainId)?.broken?.kind).toBe('head-not-found');
    await expect(reader.verify([{ hash: chainA.head }])).rejects.toThrow(ExpectHeadError);
    await pool.query('DELETE FROM decision_log_blocks WHERE chain_id = $1', [chainB.chainId]);
    await pool.query('DELETE FROM decision_log WHERE log_id = $1', [chainB.chainId]);
    await pool.query('DELETE FROM decision_log_chains WHERE chain_id = $1', [chainB.chainId]);
    // A chain removed whole is found through the head kept for it.
    const gone = await reader.verify([{ chainId: chainB.chainId, hash: chainB.head }]);
    expect(gone.find((r) => r.chainId === chainB.chainId)?.broken?.kind).toBe('no-chain');
    expect((await reader.verify([{ hash: chainA.head }])).filter((r) => r.broken)).toEqual([]);
  });

  it('names the chain and the first block when a central block is modified or removed', async () => {
    await pool.query(
      `UPDATE decision_log_blocks SET data = replace(data, '"a-23"', '"a-99"') WHERE chain_id = $1 AND first_seq = 21`,
      [chainA.chainId],
    );
    expect(await broken()).toMatchObject([
      { chainId: chainA.chainId, blocks: 2, broken: { kind: 'modified', seq: 21, position: 3 } },
    ]);
    await pool.query('DELETE FROM decision_log_blocks WHERE chain_id = $1 AND first_seq = 21', [chainA.chainId]);
    await pool.query('DELETE FROM decision_log WHERE log_id = $1 AND seq BETWEEN 21 AND 30', [chainA.chainId]);
    expect(await broken()).toMatchObject([
      { chainId: chainA.chainId, blocks: 2, broken: { kind: 'missing-before', seq: 31, position: 3 } },
    ]);
  });

  it('names a decision_log row modified, removed or added beside its blocks', async () => {
    const cases: [string, unknown[], RegExp][] = [
      [
        "UPDATE decision_log SET outcome = 'allow' WHERE id = 'b-14'",
        [],
        /decision_log's row for decision b-14 \(seq 15\) is not the block's: a row was modified/,
      ],
      ["UPDATE decision_log SET request = '{}' WHERE id = 'b-14'", [], /decision b-14 \(seq 15\)/],
      ["DELETE FROM decision_log WHERE id = 'b-14'", [], /no row for decision b-14 \(seq 15\)/],
      [
        `INSERT INTO decision_log SELECT 'forged', time, principal_type, principal_id, action, resource_type, resource_id,
           'allow', matched, policy_revision, latency_us, errors, request, log_id, 31 FROM decision_log WHERE id = 'b-14'`,
        [],
        /decision forged \(seq 31\) of chain .* outside its blocks/,
      ],
    ];
    for (const [sql, params, message] of cases) {
      const saved = (await pool.query("SELECT * FROM decision_log WHERE id = 'b-14'")).rows[0];
      await pool.query(sql, params);
      const found = await broken();
      expect(found).toHaveLength(1);
      expect(found[0]!.chainId).toBe(chainB.chainId);
      expect(found[0]!.broken).toMatchObject({ kind: 'rows-differ' });
      expect(found[0]!.broken!.message).toMatch(message);
      if (!/forged/.test(sql)) expect(found[0]!.broken).toMatchObject({ seq: 11, position: 2 });
      await pool.query("DELETE FROM decision_log WHERE id IN ('b-14', 'forged')");
      await pool.query(`INSERT INTO decision_log SELECT * FROM json_populate_record(null::decision_log, $1::json)`, [
        JSON.stringify(saved),
      ]);
      expect(await broken()).toEqual([]);
    }
    // Rows under a log id no chain has: no block vouches for them.
    await pool.query("UPDATE decision_log SET log_id = 'elsewhere' WHERE id = 'b-3'");
    const found = await broken();
    expect(found.map((r) => [r.chainId, r.broken?.kind])).toEqual([
      [chainB.chainId, 'rows-differ'],
      ['elsewhere', 'no-chain'],
    ]);
  });

  it('a log whose front retention removed before it first shipped verifies from where the copy starts', async () => {
    const c = sidecarLog('c', 40, 2);
    c.log.prune();
    const local = verifyDecisionChain(c.db);
    expect(local.startSeq).toBeGreaterThan(1);
    await ship(c.db, pool);
    const central = (await reader.verify()).find((r) => r.chainId === local.chainId);
    expect(central).toEqual(local);
  });

  it('whatever ids, errors and requests a log holds, its central copy verifies (U+0000 included)', async () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'é', '"', '\\', '\u0000', '\ufffd', '😀'), maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(text, fc.boolean()), { minLength: 1, maxLength: 25 }), async (entries) => {
        await pool.query('TRUNCATE decision_log, decision_log_blocks, decision_log_chains');
        const db = openDatabase(':memory:');
        const log = new DecisionLog(db, undefined, {
          flushMs: 250,
          queueMax: 1_000,
          overflow: 'block',
          retentionDays: 0,
          logRequests: true,
          blockRows: 4,
          clock: () => START,
          warn: () => {},
        });
        entries.forEach(([id, error], i) => {
          const d = decision(`p-${i}-${id}`, error);
          if (error) d.errors = [{ code: 'evaluation_error', message: id }] as never;
          log.append(d, request(id), 2);
        });
        log.flushAll();
        await ship(db, pool);
        const reports = await reader.verify();
        db.close();
        expect(reports.filter((r) => r.broken)).toEqual([]);
        expect(reports[0]!.decisions).toBe(entries.length);
      }),
      { numRuns: depth(10, 25) },
    );
  });
});

describe("the migration that drops the ship cursor's own log id", () => {
  it('keeps how far the log was shipped; the log id is the chain id from then on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-ship-'));
    try {
      const file = join(dir, 'log.db');
      const before = MIGRATIONS.length - 1;
      const old = new Database(file);
      for (const m of MIGRATIONS.slice(0, before)) typeof m === 'string' ? old.exec(m) : m(old);
      old.pragma(`user_version = ${before}`);
      old.prepare("INSERT INTO decision_log_ship VALUES (1, 'random-id', 41)").run();
      old.close();
      const db = openDatabase(file);
      expect(db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('decision_log_ship')).toEqual([
        'one',
        'shipped_to',
      ]);
      expect(readShipCursor(db)).toEqual({ shippedTo: 41 });
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
