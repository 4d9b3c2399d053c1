// The shared store (PostgreSQL) measured on this machine, for bench/README.md and docs/scaling.md. Each
// part is bounded in time and count, and runs in a database of its own, dropped afterwards.
// - ship: decisions/s the decision log shipper sustains into PostgreSQL's central log (blocks of the
//   sidecar's own log, written beforehand), against the batch route's decisions/s on a sidecar here.
// - notify: LISTEN/NOTIFY fan-out: N listening connections on one PostgreSQL, the delay from NOTIFY to
//   each listener's receipt (the invalidation path of the shared store's caches).
// - credentials: /v1/authorize with credential principals (device keys) on a sidecar on PostgreSQL
//   against one on SQLite, both up at once, rounds alternating; registrations/s on each.
// BENCH_ONLY=credentials,ship,notify picks parts; BENCH_SECONDS sizes the HTTP runs; FLEETGUARD_BENCH_PG is the
// server (default: the machine's, 127.0.0.1:5432).
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { decisionIdGenerator } from '../engine/index.js';
import { LogBatchBuilder } from '../server/decision-log/batch.js';
import { BlockWriter } from '../server/decision-log/blocks.js';
import { openDatabase } from '../server/store/database.js';
import { createPool } from '../server/store/postgres/connection.js';
import { migrate } from '../server/store/postgres/migrations.js';
import { DecisionShipper } from '../server/store/postgres/decision-shipper.js';
import { fmt, fmtInt, median, percentile } from './measure.js';
import { listeningUrl } from './measure.js';
import { generateRequests, logWorkloadDecision } from './workload.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_URL = process.env.FLEETGUARD_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ONLY = process.env.BENCH_ONLY?.split(',');
const wanted = (part: string) => !ONLY || ONLY.includes(part);

async function withDatabase<T>(label: string, body: (url: string) => Promise<T>): Promise<T> {
  const name = `fleetguard_bench_${label}_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  try {
    return await body(u.toString());
  } finally {
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

/**
 * CPU seconds a process on this machine has used (all its threads), from /proc: the machine is shared, so
 * wall-clock rates say more about the other processes than about the one measured.
 */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

type Sidecar = { url: string; pid: number; stop: () => Promise<void> };

/** A sidecar process (`fleetguard serve`) on `db` (and `--store` when given), until `stop`. */
async function startSidecar(db: string, ...flags: string[]): Promise<Sidecar> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/fleetguard.js'), 'serve', '--port', '0', '--db', db, '--no-watch', ...flags],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await listeningUrl(child);
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise((r) => {
        child.on('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * The batch route (100 requests a call, 50 connections) on a SQLite sidecar logging each decision:
 * decisions/s, and the sidecar's CPU per decision.
 */
async function batchRoute(dir: string): Promise<{ perSecond: number; cpuUs: number }> {
  const requests = generateRequests(1000, 7);
  const bodies = Array.from({ length: 10 }, (_, i) =>
    JSON.stringify({ requests: requests.slice(i * 100, i * 100 + 100) }),
  );
  const sidecar = await startSidecar(join(dir, 'batch.db'));
  try {
    const run = (duration: number) =>
      autocannon({
        url: `${sidecar.url}/v1/authorize/batch`,
        connections: 50,
        duration,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        requests: bodies.map((body) => ({ method: 'POST' as const, body })),
      });
    await run(2);
    const cpu0 = cpuSeconds(sidecar.pid);
    const result = await run(SECONDS);
    const cpu = cpuSeconds(sidecar.pid) - cpu0;
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`the batch route answered ${result.non2xx} non-2xx and ${result.errors} errors`);
    const decisions = result.requests.total * 100;
    return { perSecond: result.requests.average * 100, cpuUs: (cpu / decisions) * 1e6 };
  } finally {
    await sidecar.stop();
  }
}

/** A local log of `rows` decisions like a sidecar's (random devices of a 1M-device fleet), in blocks of 4096. */
function writeLocalLog(file: string, rows: number): ReturnType<typeof openDatabase> {
  const db = openDatabase(file);
  const writer = new BlockWriter(db, 4096);
  const newId = decisionIdGenerator();
  const t0 = Date.parse('2026-11-24T00:00:00Z');
  let builder = new LogBatchBuilder(10_000);
  for (let i = 0; i < rows; i++) {
    const { decision, request, offsetMs, latencyUs } = logWorkloadDecision(i, newId());
    builder.push(decision, request, t0 + offsetMs, latencyUs, false);
    if (builder.rows === 10_000) {
      writer.append([builder.take()]);
      builder = new LogBatchBuilder(10_000);
    }
  }
  if (builder.rows > 0) writer.append([builder.take()]);
  return db;
}

async function ship(): Promise<void> {
  const rows = Number(process.env.BENCH_SHIP_ROWS ?? 400_000);
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-store-bench-'));
  try {
    const db = writeLocalLog(join(dir, 'local.db'), rows);
    const shipAll = (withoutIndexes: boolean) =>
      withDatabase('ship', async (url) => {
        const pool = createPool(url, { max: 1 });
        await migrate(pool);
        if (withoutIndexes)
          await pool.query('DROP INDEX decision_log_time, decision_log_principal, decision_log_resource');
        db.prepare('UPDATE decision_log_ship SET shipped_to = 1').run();
        const backend = (await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
        const pg0 = cpuSeconds(backend);
        const shipper = new DecisionShipper(db, pool, { warn: (m) => console.error(m) });
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        let batches = 0;
        while ((await shipper.shipOnce()) > 0) batches++;
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const pgCpuS = cpuSeconds(backend) - pg0;
        const { rows: count } = await pool.query('SELECT count(*)::int AS n FROM decision_log');
        await pool.end();
        return { seconds, batches, shipped: count[0].n as number, sidecarCpuS: (cpu.user + cpu.system) / 1e6, pgCpuS };
      });
    const results = await shipAll(false);
    const keyOnly = await shipAll(true);
    db.close();
    const batch = await batchRoute(dir);
    const perSecond = results.shipped / results.seconds;
    const pgUs = (results.pgCpuS / results.shipped) * 1e6;
    const sidecarUs = (results.sidecarCpuS / results.shipped) * 1e6;
    console.log('\n## Shipper into PostgreSQL\n');
    console.log(`decisions shipped: ${fmtInt(results.shipped)} of ${fmtInt(rows)}, in ${results.batches} shipments`);
    console.log('| measure | value |\n|---|---|');
    console.log(`| shipper, decisions/s into the central log (wall clock) | ${fmtInt(perSecond)} |`);
    console.log(
      `| PostgreSQL's CPU per shipped decision (its backend: unfold, insert, key + 3 indexes) | ${fmt(pgUs)} µs |`,
    );
    console.log(
      `| the same without the 3 audit indexes (the decision id's key only) | ${fmt((keyOnly.pgCpuS / keyOnly.shipped) * 1e6)} µs |`,
    );
    console.log(`| the sidecar's CPU per shipped decision (reading blocks, the statement) | ${fmt(sidecarUs)} µs |`);
    console.log(
      `| batch route on a SQLite sidecar, decisions/s (100 a call, 50 connections; wall clock) | ${fmtInt(batch.perSecond)} |`,
    );
    console.log(
      `| the sidecar's CPU per decision on the batch route (deciding and logging) | ${fmt(batch.cpuUs)} µs |`,
    );
    console.log(
      `| decisions/s one core of PostgreSQL takes in, against decisions/s one core of sidecar makes on the batch route | ${fmtInt(1e6 / pgUs)} / ${fmtInt(1e6 / batch.cpuUs)} = ${fmt(batch.cpuUs / pgUs, 2)} |`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function notify(): Promise<void> {
  const counts = (process.env.BENCH_LISTENERS ?? '1,10,50,100').split(',').map(Number);
  const rounds = Number(process.env.BENCH_NOTIFY_ROUNDS ?? 50);
  console.log('\n## LISTEN/NOTIFY fan-out on one PostgreSQL\n');
  console.log(`${rounds} notifications each, one at a time; delay from NOTIFY to each listener's receipt`);
  console.log('| listeners | p50 ms | p99 ms | slowest listener, median of rounds ms |\n|---|---|---|---|');
  await withDatabase('notify', async (url) => {
    for (const n of counts) {
      const listeners = await Promise.all(
        Array.from({ length: n }, async () => {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          await c.query('LISTEN fleetguard_bench');
          return c;
        }),
      );
      const sender = new pg.Client({ connectionString: url });
      await sender.connect();
      const delays: number[] = [];
      const slowest: number[] = [];
      try {
        for (let r = 0; r < rounds; r++) {
          const t0 = performance.now();
          const got = listeners.map(
            (c) => new Promise<number>((resolve) => c.once('notification', () => resolve(performance.now() - t0))),
          );
          await sender.query(`NOTIFY fleetguard_bench, 'k-${r}'`);
          const ms = await Promise.all(got);
          delays.push(...ms);
          slowest.push(Math.max(...ms));
        }
      } finally {
        await sender.end();
        await Promise.all(listeners.map((c) => c.end()));
      }
      delays.sort((a, b) => a - b);
      console.log(
        `| ${n} | ${fmt(percentile(delays, 50), 2)} | ${fmt(percentile(delays, 99), 2)} | ${fmt(median(slowest), 2)} |`,
      );
    }
  });
}

const ADMIN_TOKEN = 'bench-admin-token-0123456789';

async function call(url: string, path: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** Registers `count` devices with one provisioning key, `concurrency` at a time; registrations/s and the device keys. */
async function provision(
  sidecar: Sidecar,
  count: number,
  concurrency: number,
  prefix: string,
): Promise<{ perSecond: number; keys: { id: string; key: string }[] }> {
  const pk = await call(
    sidecar.url,
    '/v1/admin/provisioning-keys',
    { fleet: 'f-1', organization: 'o-1', expiresAt: '2099-01-01T00:00:00Z' },
    ADMIN_TOKEN,
  );
  if (pk.status !== 201) throw new Error(`provisioning key: ${JSON.stringify(pk.body)}`);
  const keys: { id: string; key: string }[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const id = `${prefix}-${next++}`;
        const r = await call(sidecar.url, '/v1/provision', { provisioningKey: pk.body.key, deviceId: id });
        if (r.status !== 201) throw new Error(`provision ${id}: ${r.status} ${JSON.stringify(r.body)}`);
        keys.push({ id, key: r.body.deviceKey });
      }
    }),
  );
  return { perSecond: count / ((performance.now() - t0) / 1000), keys };
}

/** /v1/authorize with credential principals (devices reading themselves) for `seconds`: requests/s. */
async function authorizeRate(sidecar: Sidecar, keys: { id: string; key: string }[], seconds: number): Promise<number> {
  const bodies = keys.slice(0, 200).map((k) =>
    JSON.stringify({
      principal: { credential: k.key },
      action: 'read',
      resource: { type: 'device', id: k.id, attributes: { fleet: 'f-1', organization: 'o-1' } },
    }),
  );
  const result = await autocannon({
    url: `${sidecar.url}/v1/authorize`,
    connections: 50,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: bodies.map((body) => ({ method: 'POST' as const, body })),
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`/v1/authorize answered ${result.non2xx} non-2xx and ${result.errors} errors`);
  return result.requests.average;
}

/**
 * One sidecar on SQLite, one on PostgreSQL, both up for the whole part: registrations/s on each, then
 * /v1/authorize with credential principals on each, in rounds that alternate which runs first.
 */
async function credentials(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const devices = Number(process.env.BENCH_DEVICES ?? 1000);
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-store-bench-'));
  try {
    await withDatabase('credentials', async (url) => {
      const common = ['--admin-token', ADMIN_TOKEN, '--provision-rate-limit', '100000000'];
      const sqlite = await startSidecar(join(dir, 'sqlite.db'), ...common);
      const postgres = await startSidecar(join(dir, 'pg.db'), '--store', url, ...common);
      try {
        const sides = [
          { name: 'SQLite', sidecar: sqlite },
          { name: 'PostgreSQL', sidecar: postgres },
        ];
        const registered = [];
        for (const side of sides) registered.push(await provision(side.sidecar, devices, 10, side.name));
        const rates: Record<string, number[]> = { SQLite: [], PostgreSQL: [] };
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? [0, 1] : [1, 0];
          for (const i of order) {
            await authorizeRate(sides[i]!.sidecar, registered[i]!.keys, 1); // warm-up
            rates[sides[i]!.name]!.push(await authorizeRate(sides[i]!.sidecar, registered[i]!.keys, SECONDS));
          }
        }
        const ratios = rates.PostgreSQL!.map((pgRate, i) => pgRate / rates.SQLite![i]!).sort((a, b) => a - b);
        console.log('\n## Credential principals and provisioning, PostgreSQL against SQLite\n');
        console.log(
          `${devices} devices registered on each (10 at a time); /v1/authorize, 50 connections, ${rounds} rounds of ${SECONDS} s`,
        );
        console.log('| measure | SQLite | PostgreSQL | PostgreSQL / SQLite |\n|---|---|---|---|');
        console.log(
          `| registrations/s (one provisioning key) | ${fmtInt(registered[0]!.perSecond)} | ${fmtInt(registered[1]!.perSecond)} | ${fmt(registered[1]!.perSecond / registered[0]!.perSecond, 2)} |`,
        );
        for (let r = 0; r < rounds; r++)
          console.log(
            `| /v1/authorize with a device key, requests/s, round ${r + 1} | ${fmtInt(rates.SQLite![r]!)} | ${fmtInt(rates.PostgreSQL![r]!)} | ${fmt(rates.PostgreSQL![r]! / rates.SQLite![r]!, 3)} |`,
          );
        console.log(`| median of the rounds' ratios | | | ${fmt(median(ratios), 3)} (target ≥ 0.90) |`);
      } finally {
        await sqlite.stop();
        await postgres.stop();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`node ${process.version}, PostgreSQL at ${new URL(ADMIN_URL).host}`);
if (wanted('credentials')) await credentials();
if (wanted('ship')) await ship();
if (wanted('notify')) await notify();
