// The central decision log on a real PostgreSQL: what a sidecar's SQLite log holds is shipped once, read back
// by `audit --store` exactly as the local log answers the same query, and nothing is lost while the store
// is unreachable (the local log is the spool; retention keeps what is unshipped).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import { queryDecisions, type DecisionLogOptions } from '../../server/decision-log/decision-log.js';
import { FIELDS } from '../../server/decision-log/row.js';
import { openDatabase } from '../../server/store/database.js';
import { PgDecisionReader } from '../../server/store/postgres/central-log.js';
import { createPool, type Pool } from '../../server/store/postgres/connection.js';
import { migrate } from '../../server/store/postgres/migrations.js';
import { ShippingDecisionSink } from '../../server/store/postgres/shipping-sink.js';
import { Metrics } from '../../server/plugins/metrics.js';
import { PolicyHolder } from '../../server/plugins/policy-holder.js';
import { depth } from '../support/depth.js';
import { POLICIES_DIR } from '../support/policies.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { startTcpProxy, throughProxy } from '../support/tcp-proxy.js';
import { until } from '../support/wait.js';

const START = Date.parse('2026-06-01T00:00:00Z');

function decision(id: string, allowed = false, matched: string[] = []): Decision {
  return {
    decision: allowed ? 'allow' : 'deny',
    allowed,
    decisionId: id,
    policyRevision: 'sha256:x',
    matched: matched.map((rule) => ({ policy: 'p.yaml', rule, effect: 'allow' as const })),
  };
}

const request = (principal: string, resource: string): AuthorizeRequest => ({
  principal: { type: 'device', id: principal },
  action: 'read',
  resource: { type: 'fleet', id: resource },
});

describe.skipIf(!postgresAvailable)('central decision log', () => {
  let database: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    database = await createTestDatabase('central_log');
    pool = createPool(database.url);
    await migrate(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE decision_log');
  });

  /** A sidecar's local log (in memory, written inline) shipping to `to`; the clock is the test's. */
  function sidecarLog(to: Pool, options: Partial<DecisionLogOptions> = {}) {
    const db = openDatabase(':memory:');
    let now = START;
    const warnings: string[] = [];
    const sink = new ShippingDecisionSink(
      db,
      ':memory:',
      to,
      {
        flushMs: 250,
        queueMax: 1_000_000,
        overflow: 'block',
        retentionDays: 0,
        logRequests: true,
        blockRows: 16,
        clock: () => now,
        warn: (m) => warnings.push(m),
        ...options,
      },
      { intervalMs: 20, retryMs: 20, retryMaxMs: 100, batchRows: 50 },
    );
    return { db, sink, warnings, advance: (ms: number) => (now += ms) };
  }

  it('has the columns of the decision log row, then the log and seq each decision came from', async () => {
    const { rows } = await pool.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'decision_log' ORDER BY ordinal_position",
    );
    expect(rows.map((r) => r.column_name)).toEqual([...FIELDS.map((f) => f.column), 'log_id', 'seq']);
  });

  it('answers every audit query as the local log answers it (the same filters, the same order)', async () => {
    const id = fc.constantFrom('d-1', 'd-2', 'dé-"4', 'f-1', 'x\\y', 'nul\u0000');
    const entry = fc.record({
      principal: id,
      resource: id,
      allowed: fc.boolean(),
      matched: fc.array(fc.constantFrom('r1', 'r2'), { maxLength: 2 }),
      advance: fc.integer({ min: -2_000, max: 5_000 }),
      errors: fc.boolean(),
      flush: fc.nat(9).map((n) => n === 0),
    });
    const sometimes = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
    const query = fc.record({
      principal: sometimes(id),
      resource: sometimes(id),
      outcome: sometimes(fc.constantFrom('allow' as const, 'deny' as const)),
      since: sometimes(fc.integer({ min: -5_000, max: 30_000 })),
      until: sometimes(fc.integer({ min: 0, max: 60_000 })),
      limit: sometimes(fc.integer({ min: 1, max: 40 })),
    });
    const reader = new PgDecisionReader(pool);
    let run = 0;
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { minLength: 1, maxLength: 60 }),
        fc.array(query, { minLength: 1, maxLength: 5 }).map((qs) => [{} as (typeof qs)[number], ...qs]),
        async (entries, queries) => {
          await pool.query('TRUNCATE decision_log');
          run++;
          const { db, sink, advance } = sidecarLog(pool);
          entries.forEach((e, i) => {
            advance(e.advance);
            const d = decision(`run${run}-${i}`, e.allowed, e.matched);
            if (e.errors) d.errors = [{ code: 'evaluation_error', message: `rule r1: ${e.principal}` }] as never;
            sink.append(d, request(e.principal, e.resource), 1.5);
            if (e.flush) sink.log.flushAll();
          });
          sink.log.flushAll();
          while ((await sink.shipper.shipOnce()) > 0);
          expect(sink.shipBacklog).toBe(0);
          // U+0000 cannot be stored in PostgreSQL's text: the central copy has U+FFFD there.
          const central = (text: string) => text.replaceAll('\u0000', '\ufffd');
          for (const q of queries) {
            const filter = {
              ...q,
              since: q.since === undefined ? undefined : START + q.since,
              until: q.until === undefined ? undefined : START + q.until,
            };
            const local = queryDecisions(db, filter);
            const asCentral = local.map((d) => ({
              ...d,
              principalId: central(d.principalId),
              resourceId: central(d.resourceId),
              request: JSON.parse(JSON.stringify(d.request).replaceAll('\\u0000', '\\ufffd')),
              ...(d.errors === undefined
                ? {}
                : { errors: JSON.parse(JSON.stringify(d.errors).replaceAll('\\u0000', '\\ufffd')) }),
            }));
            const hasNul = [q.principal, q.resource].some((v) => v?.includes('\u0000'));
            if (local.length > 0) answered++;
            if (!hasNul) expect(await reader.query(filter)).toEqual(asCentral);
          }
          await sink.close();
          db.close();
        },
      ),
      { numRuns: depth(15, 150) },
    );
    expect(answered).toBeGreaterThan(depth(15, 150)); // the queries are not all empty
  });

  it('holds each decision once when the same blocks are shipped again (a crash before the cursor moved)', async () => {
    const { db, sink } = sidecarLog(pool);
    for (let i = 0; i < 100; i++) sink.append(decision(`again-${i}`), request('d-1', 'f-1'), 1);
    sink.log.flushAll();
    while ((await sink.shipper.shipOnce()) > 0);
    db.prepare('UPDATE decision_log_ship SET shipped_to = 1').run(); // the cursor as if never written
    const again = new ShippingDecisionSink(db, ':memory:', pool, {
      ...({} as DecisionLogOptions),
      flushMs: 250,
      queueMax: 10,
      overflow: 'block',
      retentionDays: 0,
      logRequests: false,
      blockRows: 16,
      clock: Date.now,
      warn: () => {},
    });
    expect(again.shipBacklog).toBe(100);
    while ((await again.shipper.shipOnce()) > 0);
    expect(again.shipBacklog).toBe(0);
    const { rows } = await pool.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM decision_log');
    expect(rows[0]).toEqual({ n: 100, d: 100 });
    expect(again.shipper.stats.shipped).toBe(0); // the central log took nothing it held
    await sink.close();
    db.close();
  });

  it('spools while the store is unreachable, keeps unshipped blocks through retention, and ships the backlog after', async () => {
    const proxy = await startTcpProxy(Number(new URL(database.url).port || 5432));
    const cutPool = createPool(throughProxy(database.url, proxy), { max: 1, connectTimeoutMs: 500 });
    const { db, sink, warnings, advance } = sidecarLog(cutPool, { retentionDays: 1 });
    sink.start();
    try {
      const write = (prefix: string, n: number) => {
        for (let i = 0; i < n; i++) sink.append(decision(`${prefix}-${i}`), request('d-1', 'f-1'), 1);
        sink.log.flushAll();
      };
      write('before', 40);
      await until('the first decisions shipped', () => sink.shipBacklog === 0);
      proxy.cut();
      write('during', 200);
      await until('a failed shipment', () => sink.shipper.stats.failures > 0);
      expect(warnings.some((w) => w.includes('decision log shipping failed'))).toBe(true);
      expect(sink.shipBacklog).toBe(200);
      const metrics = new Metrics(new PolicyHolder(POLICIES_DIR, { clock: Date.now, newDecisionId: () => 'm' }), sink);
      expect(await metrics.registry.getSingleMetricAsString('fleetguard_decision_log_ship_backlog')).toContain(
        'fleetguard_decision_log_ship_backlog 200',
      );
      // Two days on, retention would drop every block; the unshipped ones (and the newest) stay.
      advance(2 * 86_400_000);
      sink.log.prune();
      expect(queryDecisions(db, { limit: 10_000 }).map((d) => d.decisionId)).toEqual(
        Array.from({ length: 200 }, (_, i) => `during-${i}`),
      );
      proxy.restore();
      await until('the backlog shipped', () => sink.shipBacklog === 0);
      expect(warnings.some((w) => w.includes('shipping resumed'))).toBe(true);
      const { rows } = await pool.query('SELECT id FROM decision_log ORDER BY seq');
      expect(rows.map((r) => r.id)).toEqual([
        ...Array.from({ length: 40 }, (_, i) => `before-${i}`),
        ...Array.from({ length: 200 }, (_, i) => `during-${i}`),
      ]);
      // Shipped, they go by retention; the newest block stays so the next block's seq follows on.
      advance(2 * 86_400_000);
      sink.log.prune();
      expect(queryDecisions(db, { limit: 10_000 }).length).toBe(200 % 16 || 16);
      write('later', 3);
      await until('the later decisions shipped', () => sink.shipBacklog === 0);
      expect((await pool.query('SELECT count(*)::int AS n FROM decision_log')).rows[0].n).toBe(243);
    } finally {
      await sink.close();
      await cutPool.end();
      await proxy.close();
      db.close();
    }
  });

  it('resumes from the cursor kept in the SQLite file after a restart, under the same log id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-ship-'));
    const file = join(dir, 'log.db');
    const options: DecisionLogOptions = {
      flushMs: 250,
      queueMax: 1_000,
      overflow: 'block',
      retentionDays: 0,
      logRequests: false,
      blockRows: 16,
      clock: Date.now,
      warn: () => {},
    };
    try {
      let db = openDatabase(file);
      let sink = new ShippingDecisionSink(db, ':memory:', pool, options);
      const logId = sink.shipper.logId;
      for (let i = 0; i < 50; i++) sink.append(decision(`first-${i}`), request('d-1', 'f-1'), 1);
      await sink.close();
      db.close();
      db = openDatabase(file);
      sink = new ShippingDecisionSink(db, ':memory:', pool, options);
      expect(sink.shipper.logId).toBe(logId);
      expect(sink.shipBacklog).toBe(0);
      for (let i = 0; i < 10; i++) sink.append(decision(`second-${i}`), request('d-1', 'f-1'), 1);
      await sink.close();
      db.close();
      const { rows } = await pool.query(
        'SELECT log_id, count(*)::int AS n, max(seq)::int AS seq FROM decision_log GROUP BY log_id',
      );
      expect(rows).toEqual([{ log_id: logId, n: 60, seq: 60 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
