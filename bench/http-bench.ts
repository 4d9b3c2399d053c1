// HTTP benchmark on loopback: the sidecar (`fleetguard serve`, decision logging on) and a baseline
// server, each in its own process on one core, loaded by autocannon from this process on the other.
// Every run is bounded in time. Results go to bench/README.md by hand.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, fmtInt } from './measure.js';
import { generateRequests } from './workload.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;

async function startProcess(args: string[]): Promise<{ url: string; stop: () => Promise<void>; startupMs: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('fleetguard sidecar listening'));
      if (line) resolve(JSON.parse(line).address);
    });
    child.on('exit', () => reject(new Error(`exited:\n${out}`)));
  });
  const startupMs = performance.now() - t0;
  return { url, startupMs, stop: () => new Promise((r) => { child.on('exit', () => r()); child.kill('SIGTERM'); }) };
}

interface Run {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

const WARMUP_SECONDS = 2;

/** One measured run, after an unmeasured warm-up on the same bodies (JIT, caches, the log's first partition). */
async function load(name: string, url: string, bodies: string[]): Promise<Run> {
  const options = {
    url,
    connections: CONNECTIONS,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    requests: bodies.map((body) => ({ method: 'POST' as const, body })),
  };
  await autocannon({ ...options, duration: WARMUP_SECONDS });
  const result = await autocannon({ ...options, duration: SECONDS });
  return { name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}

const requests = generateRequests(1000, 7);
const singles = requests.slice(0, 200).map((r) => JSON.stringify(r));
const batches = Array.from({ length: 10 }, (_, i) => JSON.stringify({ requests: requests.slice(i * 100, i * 100 + 100) }));

// AuthZEN against the native batch, on the todo pack: the same 100 decisions per request, with the
// subject's attributes inline (native) or completed from the entity store (AuthZEN).
const PIDS = ['CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs', 'CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs', 'CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs'];
const PEOPLE = [{ email: 'rick@the-citadel.com', roles: ['admin', 'evil_genius'] }, { email: 'morty@the-citadel.com', roles: ['editor'] }, { email: 'beth@the-smiths.com', roles: ['viewer'] }];
const TODO_ACTIONS = ['can_read_todos', 'can_create_todo', 'can_update_todo', 'can_delete_todo'];
const todoItems = (k: number) => Array.from({ length: 100 }, (_, i) => ({ who: (i + k) % 3, action: TODO_ACTIONS[(i + k) % 4]!, owner: PEOPLE[(i * 7 + k) % 3]!.email, id: `todo-${i}` }));
const nativeBatches = Array.from({ length: 10 }, (_, k) =>
  JSON.stringify({ requests: todoItems(k).map((t) => ({ principal: { type: 'user', id: PIDS[t.who], attributes: PEOPLE[t.who] }, action: t.action, resource: { type: 'todo', id: t.id, attributes: { ownerID: t.owner } } })) }),
);
const authzenBatches = Array.from({ length: 10 }, (_, k) =>
  JSON.stringify({ evaluations: todoItems(k).map((t) => ({ subject: { type: 'user', id: PIDS[t.who] }, action: { name: t.action }, resource: { type: 'todo', id: t.id, properties: { ownerID: t.owner } } })) }),
);

const dir = mkdtempSync(join(tmpdir(), 'fleetguard-bench-'));
const baseline = await startProcess([join(ROOT, 'dist/bench/baseline-server.js')]);
const sidecar = await startProcess([join(ROOT, 'bin/fleetguard.js'), 'serve', '--port', '0', '--db', join(dir, 'bench.db'), '--no-watch']);
const todo = await startProcess([join(ROOT, 'bin/fleetguard.js'), 'serve', '--port', '0', '--db', join(dir, 'todo.db'), '--no-watch', '--policies', join(ROOT, 'examples/authzen-todo')]);
const runs: Run[] = [];
try {
  runs.push(await load('bare fastify route, constant body', `${baseline.url}/bare`, singles));
  runs.push(await load('/v1/authorize, decision log on', `${sidecar.url}/v1/authorize`, singles));
  runs.push(await load('ceiling: parse a 100-item batch, 100 constant results', `${baseline.url}/ceiling`, batches));
  runs.push(await load('/v1/authorize/batch, 100 per request, decision log on', `${sidecar.url}/v1/authorize/batch`, batches));
  runs.push(await load('todo pack: /v1/authorize/batch, 100 per request', `${todo.url}/v1/authorize/batch`, nativeBatches));
  runs.push(await load('todo pack: /access/v1/evaluations, 100 per request', `${todo.url}/access/v1/evaluations`, authzenBatches));
} finally {
  await todo.stop();
  await sidecar.stop();
  await baseline.stop();
  rmSync(dir, { recursive: true, force: true });
}

const [bare, single, ceiling, batch, native, authzen] = runs as [Run, Run, Run, Run, Run, Run];
console.log(`node ${process.version}, ${CONNECTIONS} connections, ${SECONDS} s per run, loopback; sidecar started in ${fmt(sidecar.startupMs, 0)} ms (spawn to listening)`);
console.log('');
console.log('| run | requests/s | decisions/s | p50 ms | p99 ms | errors | non-2xx |');
console.log('|---|---|---|---|---|---|---|');
for (const r of runs) {
  const perRequest = r.name.includes('100') ? 100 : 1;
  console.log(`| ${r.name} | ${fmtInt(r.rps)} | ${fmtInt(r.rps * perRequest)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`);
}
console.log('');
console.log(`/v1/authorize keeps ${fmt((single.rps / bare.rps) * 100, 1)}% of the bare route's requests/s (target ≥ 85%), p99 ${single.p99} ms (target ≤ 5 ms)`);
console.log(`batch: ${fmtInt(batch.rps * 100)} decisions/s, ${fmt((batch.rps / ceiling.rps) * 100, 1)}% of the parse-only ceiling (${fmtInt(ceiling.rps * 100)}/s)`);
console.log(`AuthZEN evaluations keep ${fmt((authzen.rps / native.rps) * 100, 1)}% of the native batch's decisions/s on the same decisions (target ≥ 90%)`);
