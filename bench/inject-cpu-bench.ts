// The process's CPU time per request through fastify's inject (routing, validation, the handler and the
// decision, the decision log's append, serialization; the log's writer thread included), with decision
// threads off, for the build in a repository directory: `node dist/bench/inject-cpu-bench.js DIR`, one
// JSON line of microseconds a request. Run two builds in alternating rounds and compare per-round ratios:
// CPU time is not charged for waiting on a core, so on a shared machine it drifts less than throughput.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? '.');
const { resolveConfig } = await import(join(dir, 'dist/server/config.js'));
const { startServer } = await import(join(dir, 'dist/server/main.js'));
const { generateRequests } = await import(join(dir, 'dist/bench/workload.js'));

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-inject-'));
const config = resolveConfig(
  {
    host: '127.0.0.1',
    port: 0,
    policies: join(dir, 'policies'),
    db: join(tmp, 'bench.db'),
    logLevel: 'silent',
    watch: false,
    decisionThreads: 0,
  },
  {},
);
const server = await startServer(config);

type Req = {
  principal: { type: string; id: string; attributes?: unknown };
  action: string;
  resource: { type: string; id: string; attributes?: unknown };
  context?: unknown;
};
const requests = generateRequests(1000, 7) as Req[];
const hundred = (k: number) => requests.slice(k * 100, k * 100 + 100);
const singles = requests.slice(0, 200).map((r) => JSON.stringify(r));
const batches = Array.from({ length: 10 }, (_, k) => JSON.stringify({ requests: hundred(k) }));
const evaluations = Array.from({ length: 10 }, (_, k) =>
  JSON.stringify({
    evaluations: hundred(k).map((r) => ({
      subject: { type: r.principal.type, id: r.principal.id, properties: r.principal.attributes },
      action: { name: r.action },
      resource: { type: r.resource.type, id: r.resource.id, properties: r.resource.attributes },
      context: r.context,
    })),
  }),
);

async function cpuPerRequest(url: string, bodies: string[], n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const res = await server.app.inject({
      method: 'POST',
      url,
      payload: bodies[i % bodies.length],
      headers: { 'content-type': 'application/json' },
    });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const result: Record<string, number> = {};
for (const [name, url, bodies, n] of [
  ['single', '/v1/authorize', singles, 20_000],
  ['batch100', '/v1/authorize/batch', batches, 600],
  ['evaluations100', '/access/v1/evaluations', evaluations, 600],
] as const) {
  await cpuPerRequest(url, [...bodies], Math.ceil(n / 4)); // warm-up
  result[name] = Math.round((await cpuPerRequest(url, [...bodies], n)) * 10) / 10;
}
console.log(JSON.stringify(result));
await server.close();
rmSync(tmp, { recursive: true, force: true });
