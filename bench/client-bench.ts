// The client benchmark (`npm run bench:client`): 1,000 concurrent `authorize` calls through the coalescing
// client against one HTTP request a call (the same client with maxBatch 1: same undici pool, same keep-alive
// connections), and the embedded client beside both; then a lone call's latency with and without
// coalescing. The sidecar runs in its own process (`fleetguard serve`, decision logging on, the default
// decision threads), this process is the service. Every run is bounded in time. BENCH_SECONDS sizes a
// throughput run, BENCH_ROUNDS the alternating rounds, BENCH_LONE the lone calls of each client.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type FleetguardClient } from '../client/client.js';
import { fmt, fmtInt, median, percentile } from './measure.js';
import { generateRequests } from './workload.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LONE = Number(process.env.BENCH_LONE ?? 2000);
const CONCURRENT = 1000;

async function startSidecar(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-client-bench-'));
  const args = [join(ROOT, 'bin/fleetguard.js'), 'serve', '--port', '0', '--db', join(dir, 'bench.db'), '--no-watch'];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('fleetguard sidecar listening'));
      if (line) resolve(JSON.parse(line).address);
    });
    child.on('exit', () => reject(new Error(`the sidecar exited:\n${out}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

const requests = generateRequests(CONCURRENT, 11);

/** Rounds of 1,000 concurrent calls for `seconds`: decisions a second, and how many were not the policies'. */
async function throughput(client: FleetguardClient, seconds: number): Promise<{ perSecond: number; failed: number }> {
  let decided = 0;
  let failed = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    const decisions = await Promise.all(requests.map((r) => client.authorize(r)));
    decided += decisions.length;
    for (const d of decisions) if (d.error) failed++;
  }
  return { perSecond: decided / ((performance.now() - start) / 1000), failed };
}

/** Lone calls, one at a time, alternating between the clients so that drift reaches both alike (ms). */
async function loneLatency(clients: FleetguardClient[], calls: number): Promise<number[][]> {
  const samples = clients.map(() => [] as number[]);
  for (let i = 0; i < calls; i++) {
    for (let c = 0; c < clients.length; c++) {
      const t0 = performance.now();
      await clients[c]!.authorize(requests[i % requests.length]!);
      samples[c]!.push(performance.now() - t0);
    }
  }
  return samples.map((s) => s.sort((a, b) => a - b));
}

const sidecar = await startSidecar();
const options = { url: sidecar.url, timeoutMs: 30_000 };
const coalescing = createClient(options);
const oneBatch = createClient({ ...options, maxBatch: 1000 });
const perCall = createClient({ ...options, maxBatch: 1 });
const embedded = createClient({ policies: join(ROOT, 'policies'), timeoutMs: 30_000 });
await Promise.all([coalescing.ready(), oneBatch.ready(), perCall.ready(), embedded.ready()]);

// The same decisions whichever way they are asked (the sidecar and this process read the same policies).
const [viaSidecar, inProcess] = await Promise.all([
  coalescing.authorizeMany(requests),
  embedded.authorizeMany(requests),
]);
const mismatches = viaSidecar.filter((d, i) => d.allowed !== inProcess[i]!.allowed || d.error).length;
const allowedShare = viaSidecar.filter((d) => d.allowed).length / requests.length;

const sides = [
  ['one HTTP request a call (maxBatch 1)', perCall],
  ['coalescing client (default: maxBatch 100, same tick)', coalescing],
  ['coalescing client, maxBatch 1000', oneBatch],
  ['embedded client (engine in process)', embedded],
] as const;
for (const [, client] of sides) await throughput(client, 1); // warm-up: JIT, connections, the log's partition
const results = sides.map(() => [] as number[]);
let failed = 0;
for (let round = 0; round < ROUNDS; round++) {
  // The order rotates from round to round: no side always runs first on a machine that drifts.
  for (let k = 0; k < sides.length; k++) {
    const s = (k + round) % sides.length;
    const r = await throughput(sides[s]![1], SECONDS);
    results[s]!.push(r.perSecond);
    failed += r.failed;
  }
}

await loneLatency([coalescing, perCall], 200); // warm-up
const [loneCoalescing, lonePerCall] = (await loneLatency([coalescing, perCall], LONE)) as [number[], number[]];

await Promise.all([coalescing.close(), oneBatch.close(), perCall.close(), embedded.close()]);
await sidecar.stop();

console.log(
  `node ${process.version}; ${CONCURRENT} concurrent authorize calls a round (${fmt(allowedShare * 100, 1)}% allowed), ` +
    `${ROUNDS} rounds of ${SECONDS} s per client; decisions differing between sidecar and embedded: ${mismatches}; ` +
    `calls that failed closed: ${failed}`,
);
// Against one request a call, round by round (the machine drifts between rounds), then the median.
const ratio = (s: number) => median(results[s]!.map((x, r) => x / results[0]![r]!));
console.log(
  '\n| client | decisions/s (median) | each round | vs one request a call (median of the rounds) |\n|---|---|---|---|',
);
sides.forEach(([label], s) => {
  console.log(
    `| ${label} | ${fmtInt(median(results[s]!))} | ${results[s]!.map(fmtInt).join(', ')} | ${fmt(ratio(s), 2)}× |`,
  );
});
const row = (label: string, xs: number[]) =>
  `| ${label} | ${fmt(percentile(xs, 50), 3)} | ${fmt(percentile(xs, 99), 3)} | ${fmt(percentile(xs, 99.9), 3)} |`;
console.log(`\nA lone call, ${LONE} each, alternating (ms):\n\n| client | p50 | p99 | p99.9 |\n|---|---|---|---|`);
console.log(row('coalescing client', loneCoalescing));
console.log(row('one HTTP request a call', lonePerCall));
console.log(
  `\nadded by coalescing to a lone call: p50 ${fmt(percentile(loneCoalescing, 50) - percentile(lonePerCall, 50), 3)} ms, ` +
    `p99 ${fmt(percentile(loneCoalescing, 99) - percentile(lonePerCall, 99), 3)} ms`,
);
process.exit(0);
