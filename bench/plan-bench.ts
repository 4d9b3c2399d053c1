// Query plans on 1,000,000 device rows in SQLite (10,000 fleets × 100 devices, 1,000 organizations) with
// the indexes the README recommends: time to plan, and to fetch the first 100 rows of the plan's SQL.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicySet, planQuery, type Entity } from '../engine/index.js';
import { fmt, median } from './measure.js';
import { DEVICES_PER_FLEET, FLEETS, NOW, ORGS } from './workload.js';

const set = loadPolicySet(fileURLToPath(new URL('../../policies', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'fleetguard-plan-'));
const db = new Database(join(dir, 'devices.db'));
db.pragma('journal_mode = WAL');
db.exec(
  'CREATE TABLE devices (id TEXT PRIMARY KEY, fleet TEXT NOT NULL, organization TEXT NOT NULL, supportAccessUntil INTEGER)',
);
const t0 = performance.now();
const insert = db.prepare('INSERT INTO devices VALUES (?, ?, ?, ?)');
db.transaction(() => {
  for (let f = 0; f < FLEETS; f++) {
    const grant = f % 10 === 0 ? NOW + 86_400_000 : null;
    for (let d = 0; d < DEVICES_PER_FLEET; d++) insert.run(`d-${f}-${d}`, `f-${f}`, `o-${f % ORGS}`, grant);
  }
})();
// The recommended indexes: one per attribute the policies filter devices on.
db.exec(
  'CREATE INDEX devices_fleet ON devices (fleet); CREATE INDEX devices_organization ON devices (organization); CREATE INDEX devices_support ON devices (supportAccessUntil)',
);
db.exec('ANALYZE');
const loadMs = performance.now() - t0;

const cases: [string, Entity, string][] = [
  [
    'device key: its own device',
    { type: 'device', id: 'd-4242-7', attributes: { fleet: 'f-4242', organization: 'o-242' } },
    'read',
  ],
  [
    'developer of 3 fleets: devices',
    { type: 'user', id: 'u-1', attributes: { developerOf: ['f-1', 'f-2', 'f-3'] } },
    'read',
  ],
  [
    'admin of 1 org + observer of 50 fleets: devices',
    {
      type: 'user',
      id: 'u-2',
      attributes: { adminOf: ['o-7'], observerOf: Array.from({ length: 50 }, (_, i) => `f-${i * 17}`) },
    },
    'read',
  ],
  ['support agent: devices under a grant (100,000 rows)', { type: 'support_agent', id: 's-1' }, 'read'],
  ['observer: ssh on devices (always denied)', { type: 'user', id: 'u-3', attributes: { observerOf: ['f-1'] } }, 'ssh'],
];

console.log(`1,000,000 device rows loaded and indexed in ${fmt(loadMs / 1000, 1)} s; node ${process.version}`);
console.log('');
console.log('| plan | kind | WHERE | plan µs | first 100 rows, median ms | p99 ms | rows |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, principal, action] of cases) {
  const planTimes: number[] = [];
  let plan = planQuery(set, { principal, action, resourceType: 'device' }, NOW);
  for (let i = 0; i < 200; i++) {
    const p0 = performance.now();
    plan = planQuery(set, { principal, action, resourceType: 'device' }, NOW);
    planTimes.push((performance.now() - p0) * 1000);
  }
  const stmt = db.prepare(`SELECT * FROM devices WHERE ${plan.sql.where} LIMIT 100`);
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 50; i++) {
    const q0 = performance.now();
    rows = stmt.all(...plan.sql.params).length;
    times.push(performance.now() - q0);
  }
  times.sort((a, b) => a - b);
  const where = plan.sql.where.length > 60 ? `${plan.sql.where.slice(0, 57)}…` : plan.sql.where;
  console.log(
    `| ${name} | ${plan.kind} | \`${where}\` | ${fmt(median(planTimes), 1)} | ${fmt(median(times), 3)} | ${fmt(times[Math.floor(times.length * 0.99)]!, 3)} | ${rows} |`,
  );
}
db.close();
rmSync(dir, { recursive: true, force: true });
