// HTTP benchmark on loopback: the sidecar (`fleetguard serve`, decision logging on) and a baseline
// server, each in its own process, loaded by autocannon from this process. Every run is bounded in
// time. Results go to bench/README.md by hand. BENCH_ONLY=single,batch,authzen,mixed,shadow,shadow-schema
// picks the comparisons; BENCH_ROUNDS and BENCH_SECONDS size them; BENCH_PIN=1 pins the servers (all their
// threads) to core 1 and the load generator to core 0, which measures a server's CPU per request.
import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDecisionThreads } from '../server/config.js';
import { fmt, fmtInt } from './measure.js';
import { listeningUrl } from './measure.js';
import { generateRequests } from './workload.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONNECTIONS = 50;
const PIN = process.env.BENCH_PIN === '1';
const ONLY = process.env.BENCH_ONLY;
if (PIN) spawnSync('taskset', ['-a', '-cp', '0', String(process.pid)]);

async function startProcess(args: string[]): Promise<{ url: string; stop: () => Promise<void>; startupMs: number }> {
  const t0 = performance.now();
  const [command, ...argv] = PIN ? ['taskset', '-c', '1', process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(command!, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await listeningUrl(child);
  const startupMs = performance.now() - t0;
  return {
    url,
    startupMs,
    stop: () =>
      new Promise((r) => {
        child.on('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

interface Run {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** The server process's CPU (all its threads) per request served, in µs, where measured. */
  cpuUs?: number;
}

const WARMUP_SECONDS = 2;

/** One autocannon run of `seconds` over `bodies`, POSTed as JSON. */
async function run(
  name: string,
  url: string,
  bodies: string[],
  seconds: number,
  connections = CONNECTIONS,
): Promise<Run> {
  const requests = bodies.map((body) => ({ method: 'POST' as const, body }));
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests,
  });
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/** One measured run, after an unmeasured warm-up on the same bodies (JIT, caches, the log's first partition). */
async function load(name: string, url: string, bodies: string[]): Promise<Run> {
  await run(name, url, bodies, WARMUP_SECONDS);
  return run(name, url, bodies, SECONDS);
}

/** The sidecar's `process_cpu_seconds_total` (every thread of the process). */
async function cpuSeconds(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)![1]);
}

/**
 * `load`, with the sidecar's CPU per request: on a machine others share, requests/s drifts with their
 * load, while the CPU a request costs the server drifts much less.
 */
async function loadWithCpu(name: string, base: string, path: string, bodies: string[]): Promise<Run> {
  await run(name, base + path, bodies, WARMUP_SECONDS);
  const before = await cpuSeconds(base);
  const measured = await run(name, base + path, bodies, SECONDS);
  const cpu = (await cpuSeconds(base)) - before;
  return { ...measured, cpuUs: (cpu * 1e6) / (measured.rps * SECONDS) };
}

const requests = generateRequests(1000, 7);
const singles = requests.slice(0, 200).map((r) => JSON.stringify(r));
const batches = Array.from({ length: 10 }, (_, i) =>
  JSON.stringify({ requests: requests.slice(i * 100, i * 100 + 100) }),
);

// AuthZEN against the native batch, on the todo pack: the same 100 decisions per request, with the
// subject's attributes inline (native) or completed from the entity store (AuthZEN).
const PIDS = [
  'CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs',
  'CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs',
  'CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs',
];
const PEOPLE = [
  { email: 'rick@the-citadel.com', roles: ['admin', 'evil_genius'] },
  { email: 'morty@the-citadel.com', roles: ['editor'] },
  { email: 'beth@the-smiths.com', roles: ['viewer'] },
];
const TODO_ACTIONS = ['can_read_todos', 'can_create_todo', 'can_update_todo', 'can_delete_todo'];
const todoItems = (k: number) =>
  Array.from({ length: 100 }, (_, i) => ({
    who: (i + k) % 3,
    action: TODO_ACTIONS[(i + k) % 4]!,
    owner: PEOPLE[(i * 7 + k) % 3]!.email,
    id: `todo-${i}`,
  }));
const nativeBatches = Array.from({ length: 10 }, (_, k) =>
  JSON.stringify({
    requests: todoItems(k).map((t) => ({
      principal: { type: 'user', id: PIDS[t.who], attributes: PEOPLE[t.who] },
      action: t.action,
      resource: { type: 'todo', id: t.id, attributes: { ownerID: t.owner } },
    })),
  }),
);
const authzenBatches = Array.from({ length: 10 }, (_, k) =>
  JSON.stringify({
    evaluations: todoItems(k).map((t) => ({
      subject: { type: 'user', id: PIDS[t.who] },
      action: { name: t.action },
      resource: { type: 'todo', id: t.id, properties: { ownerID: t.owner } },
    })),
  }),
);

const dir = mkdtempSync(join(tmpdir(), 'fleetguard-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const serve = (name: string, ...flags: string[]) =>
  startProcess([
    join(ROOT, 'bin/fleetguard.js'),
    'serve',
    '--port',
    '0',
    '--db',
    join(dir, `${name}.db`),
    '--no-watch',
    ...flags,
  ]);
type Server = Awaited<ReturnType<typeof startProcess>>;
/**
 * Runs `body` with only the servers it measures on the machine: three idle sidecars beside a pair cost
 * the sidecar's single route about 5 points against the bare route (85% against 90%, measured), on a
 * machine where a sidecar runs beside its API service, not beside other sidecars.
 */
async function withServers<T>(starts: (() => Promise<Server>)[], body: (servers: Server[]) => Promise<T>): Promise<T> {
  const servers: Server[] = [];
  try {
    for (const start of starts) servers.push(await start());
    return await body(servers);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
const baselineServer = () => startProcess([join(ROOT, 'dist/bench/baseline-server.js')]);
const sidecarServer = () => serve('bench');
// Shadow evaluation's cost: the same sidecar with and without a candidate that widens one rule (observers
// may also read fleet variables and images), which disagrees with the live set on 1.6% of the workload's
// requests, so disagreements are recorded throughout.
const candidateDir = join(dir, 'candidate');
cpSync(join(ROOT, 'policies'), candidateDir, { recursive: true });
const observerRule = join(candidateDir, 'fleet-roles.yaml');
writeFileSync(
  observerRule,
  readFileSync(observerRule, 'utf8').replace(
    'resources: [device, release, build_log]\n    when: resource.fleet in principal.observerOf',
    'resources: [device, release, build_log, fleet_variable, image]\n    when: resource.fleet in principal.observerOf',
  ),
);
const SHADOW_TOKEN = 'bench-admin-token-0123456789';
const shadowServer = () => serve('shadow', '--shadow-policies', candidateDir, '--admin-token', SHADOW_TOKEN);
const todoServer = () => serve('todo', '--policies', join(ROOT, 'examples/authzen-todo'));
const todoInlineServer = () =>
  serve('todo-inline', '--policies', join(ROOT, 'examples/authzen-todo'), '--decision-threads', '0');
const sidecarInlineServer = () => serve('bench-inline', '--decision-threads', '0');

// A shared 2-core machine drifts by ±10% between runs: each comparison runs its two sides back to back,
// ROUNDS times, and reports the median of the per-round ratios. The order alternates from one round to
// the next (base first, then subject first): the second run of a pair measured up to 5% faster than the
// first whichever it was, a bias that would otherwise always favour the subject.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
interface Pair {
  label: string;
  base: Run[];
  subject: Run[];
}
async function pair(label: string, base: () => Promise<Run>, subject: () => Promise<Run>): Promise<Pair> {
  const p: Pair = { label, base: [], subject: [] };
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      p.base.push(await base());
      p.subject.push(await subject());
    } else {
      p.subject.push(await subject());
      p.base.push(await base());
    }
  }
  return p;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios = (p: Pair) => p.subject.map((s, i) => s.rps / p.base[i]!.rps);

// Mixed load: single decisions (10 connections) while batches of 1,000 run (4 connections), with and
// without a decision thread: what a batch's parse does to the single decisions queued behind it.
const bigBatches = [0, 1].map((k) =>
  JSON.stringify({ requests: generateRequests(2000, 7).slice(k * 1000, k * 1000 + 1000) }),
);
interface Mixed {
  label: string;
  single: Run;
  batch: Run;
}
async function mixed(label: string, url: string): Promise<Mixed> {
  const both = (seconds: number) =>
    Promise.all([
      run('single', `${url}/v1/authorize`, singles, seconds, 10),
      run('batch', `${url}/v1/authorize/batch`, bigBatches, seconds, 4),
    ]);
  await both(WARMUP_SECONDS);
  const [single, batch] = await both(SECONDS);
  return { label, single, batch };
}

const wanted = (name: string) => ONLY === undefined || ONLY.split(',').includes(name);
let startupMs = 0;
const pairs: Pair[] = [];
if (wanted('single') || wanted('batch')) {
  await withServers([baselineServer, sidecarServer], async ([baseline, sidecar]) => {
    startupMs = sidecar!.startupMs;
    if (wanted('single'))
      pairs.push(
        await pair(
          'single',
          () => load('bare fastify route, constant body', `${baseline!.url}/bare`, singles),
          () => load('/v1/authorize, decision log on', `${sidecar!.url}/v1/authorize`, singles),
        ),
      );
    if (wanted('batch'))
      pairs.push(
        await pair(
          'batch',
          () => load('ceiling: parse a 100-item batch, 100 constant results', `${baseline!.url}/ceiling`, batches),
          () =>
            load(
              '/v1/authorize/batch, 100 per request, decision log on',
              `${sidecar!.url}/v1/authorize/batch`,
              batches,
            ),
        ),
      );
  });
}
if (wanted('authzen')) {
  pairs.push(
    await withServers([todoInlineServer], ([todoInline]) =>
      pair(
        'authzen',
        () =>
          load(
            'todo pack, --decision-threads 0: /v1/authorize/batch, 100 per request',
            `${todoInline!.url}/v1/authorize/batch`,
            nativeBatches,
          ),
        () =>
          load(
            'todo pack, --decision-threads 0: /access/v1/evaluations, 100 per request',
            `${todoInline!.url}/access/v1/evaluations`,
            authzenBatches,
          ),
      ),
    ),
  );
  pairs.push(
    await withServers([todoServer], ([todo]) =>
      pair(
        'authzen-defaults',
        () => load('todo pack: /v1/authorize/batch, 100 per request', `${todo!.url}/v1/authorize/batch`, nativeBatches),
        () =>
          load(
            'todo pack: /access/v1/evaluations, 100 per request',
            `${todo!.url}/access/v1/evaluations`,
            authzenBatches,
          ),
      ),
    ),
  );
}
// The worst case for the shadow: the same candidate with its schema file changed (a comment added), so
// that changed-scope.ts cannot narrow it down and every request is decided again.
const candidateSchemaDir = join(dir, 'candidate-schema');
cpSync(candidateDir, candidateSchemaDir, { recursive: true });
writeFileSync(
  join(candidateSchemaDir, 'schema.yaml'),
  `${readFileSync(join(candidateSchemaDir, 'schema.yaml'), 'utf8')}\n# changed: every request is compared\n`,
);
const shadowSchemaServer = () =>
  serve('shadow-schema', '--shadow-policies', candidateSchemaDir, '--admin-token', SHADOW_TOKEN);

type ShadowRecording = { compared: number; written: number; notCompared: number; notWritten: number };
const shadowRecorded: { name: string; recording: ShadowRecording }[] = [];
async function shadowPairs(name: 'shadow' | 'shadow-schema', start: () => Promise<Server>): Promise<void> {
  const what = name === 'shadow' ? 'shadow candidate loaded' : 'shadow candidate with another schema';
  await withServers([sidecarServer, start], async ([plain, shadowed]) => {
    pairs.push(
      await pair(
        `${name}-single`,
        () => loadWithCpu('/v1/authorize, no shadow candidate', plain!.url, '/v1/authorize', singles),
        () => loadWithCpu(`/v1/authorize, ${what}`, shadowed!.url, '/v1/authorize', singles),
      ),
    );
    pairs.push(
      await pair(
        `${name}-batch`,
        () =>
          loadWithCpu(
            '/v1/authorize/batch, 100 per request, no shadow candidate',
            plain!.url,
            '/v1/authorize/batch',
            batches,
          ),
        () =>
          loadWithCpu(`/v1/authorize/batch, 100 per request, ${what}`, shadowed!.url, '/v1/authorize/batch', batches),
      ),
    );
    const summary = await fetch(`${shadowed!.url}/v1/admin/shadow?examples=0`, {
      headers: { authorization: `Bearer ${SHADOW_TOKEN}` },
    });
    shadowRecorded.push({ name, recording: ((await summary.json()) as { recording: ShadowRecording }).recording });
  });
}
if (wanted('shadow')) await shadowPairs('shadow', shadowServer);
if (wanted('shadow-schema')) await shadowPairs('shadow-schema', shadowSchemaServer);
const mixes: Mixed[] = [];
if (wanted('mixed')) {
  mixes.push(await withServers([sidecarInlineServer], ([s]) => mixed('--decision-threads 0', s!.url)));
  mixes.push(
    await withServers([sidecarServer], ([s]) =>
      mixed(`default (${defaultDecisionThreads()} decision threads)`, s!.url),
    ),
  );
}

console.log(
  `node ${process.version}, ${CONNECTIONS} connections, ${SECONDS} s per run after ${WARMUP_SECONDS} s of warm-up, ${ROUNDS} rounds, loopback${PIN ? ', servers pinned to core 1 and the load generator to core 0' : ''}; sidecar started in ${fmt(startupMs, 0)} ms (spawn to listening)`,
);
console.log('');
console.log('| round | run | requests/s | decisions/s | p50 ms | p99 ms | errors | non-2xx |');
console.log('|---|---|---|---|---|---|---|---|');
for (const p of pairs) {
  for (let r = 0; r < ROUNDS; r++) {
    for (const run of [p.base[r]!, p.subject[r]!]) {
      const perRequest = run.name.includes('100') ? 100 : 1;
      console.log(
        `| ${r + 1} | ${run.name} | ${fmtInt(run.rps)} | ${fmtInt(run.rps * perRequest)} | ${run.p50} | ${run.p99} | ${run.errors} | ${run.non2xx} |`,
      );
    }
  }
}
const pct = (p: Pair) =>
  `${fmt(median(ratios(p)) * 100, 1)}% (rounds: ${ratios(p)
    .map((x) => `${fmt(x * 100, 1)}%`)
    .join(', ')})`;
/** The subject's server CPU a request against the base's: median of the rounds' ratios, and the µs. */
const cpuPct = (p: Pair) => {
  const r = p.subject.map((s, i) => s.cpuUs! / p.base[i]!.cpuUs!);
  return `${fmt(median(r) * 100, 1)}% of it (rounds: ${r.map((x) => `${fmt(x * 100, 1)}%`).join(', ')}; ${fmt(median(p.subject.map((x) => x.cpuUs!)), 1)} µs against ${fmt(median(p.base.map((x) => x.cpuUs!)), 1)} µs)`;
};
const shadowLine = (what: string, unit: string, p: Pair) =>
  `${what} keeps ${pct(p)} of its ${unit} without one (target ≥ 90%); server CPU a request ${cpuPct(p)}; p99 ${median(p.subject.map((r) => r.p99))} ms against ${median(p.base.map((r) => r.p99))} ms`;
const summary: Record<string, (p: Pair) => string> = {
  single: (p) =>
    `/v1/authorize keeps ${pct(p)} of the bare route's requests/s (target ≥ 85%); p99 ${median(p.subject.map((r) => r.p99))} ms (target ≤ 5 ms)`,
  batch: (p) =>
    `batch: ${fmtInt(median(p.subject.map((r) => r.rps)) * 100)} decisions/s, ${pct(p)} of the parse-only ceiling (${fmtInt(median(p.base.map((r) => r.rps)) * 100)}/s; target ≥ 85%)`,
  authzen: (p) =>
    `AuthZEN evaluations keep ${pct(p)} of the native batch's decisions/s, both on the request thread (target ≥ 90%)`,
  'shadow-single': (p) => shadowLine('/v1/authorize with a shadow candidate', 'requests/s', p),
  'shadow-batch': (p) => shadowLine('/v1/authorize/batch with a shadow candidate', 'decisions/s', p),
  'shadow-schema-single': (p) =>
    shadowLine('/v1/authorize with a candidate of another schema (every request compared)', 'requests/s', p),
  'shadow-schema-batch': (p) =>
    shadowLine('/v1/authorize/batch with a candidate of another schema (every request compared)', 'decisions/s', p),
  'authzen-defaults': (p) =>
    `with default settings (native batches on decision threads, AuthZEN on the request thread): ${pct(p)}`,
};
console.log('');
for (const p of pairs) console.log(summary[p.label]!(p));
for (const { name, recording: r } of shadowRecorded)
  console.log(
    `${name}: ${fmtInt(r.compared)} decisions compared, ${fmtInt(r.written)} disagreements written, ${fmtInt(r.notCompared)} not compared, ${fmtInt(r.notWritten)} not written`,
  );
console.log('');
if (mixes.length > 0) {
  console.log(
    '| mixed load | single requests/s | single p50 ms | single p99 ms | batch of 1,000: decisions/s | batch p99 ms | errors | non-2xx |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const m of mixes) {
    console.log(
      `| ${m.label} | ${fmtInt(m.single.rps)} | ${m.single.p50} | ${m.single.p99} | ${fmtInt(m.batch.rps * 1000)} | ${m.batch.p99} | ${m.single.errors + m.batch.errors} | ${m.single.non2xx + m.batch.non2xx} |`,
    );
  }
}
