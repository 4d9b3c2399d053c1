// What the sidecar's JSON parser (server/body/parse-json-body.ts) costs over a bare JSON.parse, on the HTTP
// bench's bodies: single requests (about 350 characters) and batches of 100 (about 31 KB). CPU time of
// the process (steadier than wall time on a shared machine), both sides in alternating rounds, medians.
// Run: `npm run build && node dist/bench/json-body-bench.js`.
import { parseJsonBody } from '../server/body/parse-json-body.js';
import { median } from './measure.js';
import { generateRequests } from './workload.js';

const ROUNDS = 31;
const requests = generateRequests(1_200);
const singles = requests.slice(0, 200).map((r) => JSON.stringify(r));
const batches = Array.from({ length: 10 }, (_, i) =>
  JSON.stringify({ requests: requests.slice(i * 100, i * 100 + 100) }),
);

/** CPU µs per body of `parse` over `bodies`, `reps` times. */
function cpuPerBody(parse: (text: string) => unknown, bodies: string[], reps: number): number {
  const start = process.cpuUsage();
  for (let r = 0; r < reps; r++) for (const body of bodies) parse(body);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / (reps * bodies.length);
}

const bare = (text: string) => JSON.parse(text);
console.log(`node ${process.version}, ${ROUNDS} alternating rounds, CPU time per body, medians`);
for (const [name, bodies, reps] of [
  ['single request', singles, 200],
  ['batch of 100', batches, 10],
] as const) {
  cpuPerBody(bare, bodies, reps);
  cpuPerBody(parseJsonBody, bodies, reps);
  const plain: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [bare, parseJsonBody] : [parseJsonBody, bare];
    for (const parse of order) (parse === bare ? plain : ours).push(cpuPerBody(parse, [...bodies], reps));
  }
  const p = median(plain);
  const o = median(ours);
  console.log(
    `${name} (${bodies[0]!.length} characters): JSON.parse ${p.toFixed(2)} µs, parseJsonBody ${o.toFixed(2)} µs (+${((o / p - 1) * 100).toFixed(1)}%)`,
  );
}
