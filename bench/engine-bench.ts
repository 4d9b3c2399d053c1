// In-process decision benchmark: Fleetguard's paths (the boolean `isAllowed`, the full decision, and
// the rule-by-rule path that reports errors), CASL abilities cached per actor and a hand-written
// function, on the same 1M-device request stream in one process, taking turns; then the targets of
// issue #18 checked from the same run, compile times and the engine's memory. Run with `npm run bench`;
// results go to bench/README.md by hand.

import { fileURLToPath } from 'node:url';
import {
  authorize,
  isAllowed,
  buildAbility,
  caslSubject,
  compilePolicies,
  createEngine,
  decisionIdGenerator,
  readPolicySources,
  type FleetAbility,
  type SourceFile,
} from '../engine/index.js';
import { authorizeRuleByRule } from '../engine/decide/authorize.js';
import { fmt, fmtInt, measureInterleaved, median } from './measure.js';
import { generateRequests, handWritten, NOW } from './workload.js';

const POLICIES = fileURLToPath(new URL('../../policies', import.meta.url));
const COUNT = Number(process.env.BENCH_REQUESTS ?? 200_000);
const gc = (globalThis as { gc?: () => void }).gc;

const sources = readPolicySources(POLICIES);
const compiled = compilePolicies(sources);
if (!compiled.policySet) throw new Error('shipped policies do not compile');
const set = compiled.policySet;
const requests = generateRequests(COUNT);

// The paths must agree before their speed means anything.
let allowed = 0;
let mismatches = 0;
for (const req of requests) {
  const d = authorize(set, req, NOW, 'x').allowed;
  if (d) allowed++;
  if (d !== handWritten(req, NOW)) mismatches++;
  if (isAllowed(set, req, NOW) !== d || authorizeRuleByRule(set, req, NOW, 'x').allowed !== d) mismatches++;
}

// CASL with a cached ability per actor (principal and context): built up front, so only `can` is timed.
const abilityKey = (i: number) => {
  const r = requests[i]!;
  return `${r.principal.type}|${r.principal.id}|${JSON.stringify(r.principal.attributes)}|${JSON.stringify(r.context)}`;
};
const abilities = new Map<string, FleetAbility>();
const keys = requests.map((_, i) => abilityKey(i));
const subjects = requests.map((r) => caslSubject(set, r.resource));
requests.forEach((r, i) => {
  if (!abilities.has(keys[i]!))
    abilities.set(keys[i]!, buildAbility(set, { principal: r.principal, context: r.context ?? {}, now: NOW }));
});
let caslMismatches = 0;
requests.forEach((r, i) => {
  if (abilities.get(keys[i]!)!.can(r.action, subjects[i]!) !== authorize(set, r, NOW, 'x').allowed) caslMismatches++;
});

const engine = createEngine(set, { clock: () => NOW, newDecisionId: decisionIdGenerator() });
const [hand, boolean, fixedId, full, ruleByRule, casl] = measureInterleaved(
  [
    { name: 'hand-written JS function', fn: (i) => handWritten(requests[i]!, NOW) },
    { name: 'Fleetguard `engine.isAllowed` (boolean, no decision object)', fn: (i) => engine.isAllowed(requests[i]!) },
    {
      name: 'Fleetguard fast path (decision object, fixed id)',
      fn: (i) => authorize(set, requests[i]!, NOW, 'bench').allowed,
    },
    {
      name: 'Fleetguard `engine.authorize` (with a decision id per decision)',
      fn: (i) => engine.authorize(requests[i]!).allowed,
    },
    {
      name: 'Fleetguard rule by rule (index, a call per rule; the path that reports errors)',
      fn: (i) => authorizeRuleByRule(set, requests[i]!, NOW, 'bench').allowed,
    },
    {
      name: 'CASL, ability cached per actor (only `can()` timed)',
      fn: (i) => abilities.get(keys[i]!)!.can(requests[i]!.action, subjects[i]!),
    },
  ],
  COUNT,
);
const results = [hand!, boolean!, fixedId!, full!, ruleByRule!, casl!];

// Compile times: the shipped policies, and a generated set of 10,000 rules in 100 files.
const shippedMs = median(Array.from({ length: 20 }, () => time(() => compilePolicies(sources))));
const big = generatedRules(10_000);
const bigRuns = Array.from({ length: 3 }, () => time(() => compilePolicies(big)));
const bigMs = median(bigRuns);
// The decision function's own stage, timed inside the compiler.
const stageMs = (files: SourceFile[], runs: number) =>
  median(
    Array.from(
      { length: runs },
      () => compilePolicies(files, { clock: () => performance.now() }).timings['generate-decider'] ?? NaN,
    ),
  );
const generateShippedMs = stageMs(sources, 20);
const generateBigMs = stageMs(big, 3);

// Memory: heap held by the compiled 10,000-rule set and by the shipped one.
// Several copies are held at once so that the difference dwarfs the collector's noise.
const heldBy = (make: () => unknown, copies: number) => {
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const kept = Array.from({ length: copies }, make);
  gc?.();
  const after = process.memoryUsage().heapUsed;
  return { bytes: (after - before) / copies, kept };
};
const shippedHeap = heldBy(() => compilePolicies(sources).policySet, 50);
const bigHeap = heldBy(() => compilePolicies(big).policySet, 2);

const base = hand!;
const vsHand = (r: typeof base) => base.opsPerSec / r.opsPerSec;
const vsCasl = (r: typeof base) => r.opsPerSec / casl!.opsPerSec;
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
const targets = [
  ['`engine.authorize` ≥ 8× CASL', `${fmt(vsCasl(full!), 2)}×`, met(vsCasl(full!) >= 8)],
  ['`engine.authorize` within 4× of hand-written', `${fmt(vsHand(full!), 2)}×`, met(vsHand(full!) <= 4)],
  ['`engine.isAllowed` within 3× of hand-written', `${fmt(vsHand(boolean!), 2)}×`, met(vsHand(boolean!) <= 3)],
  ['`engine.authorize` p99 ≤ 1 µs', `${fmt(full!.p99Us)} µs`, met(full!.p99Us <= 1)],
  ['`engine.isAllowed` p99 ≤ 1 µs', `${fmt(boolean!.p99Us)} µs`, met(boolean!.p99Us <= 1)],
];
const lines = [
  `requests: ${fmtInt(COUNT)} (${fmt((allowed / COUNT) * 100, 1)}% allowed), mismatches between Fleetguard's paths and hand-written: ${mismatches}, vs CASL: ${caslMismatches}`,
  `node ${process.version}, ${abilities.size} cached CASL abilities`,
  '',
  '| path | median µs/decision | p99 µs/decision | decisions/s | vs hand-written | vs CASL |',
  '|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.name} | ${fmt(r.medianUs)} | ${fmt(r.p99Us)} | ${fmtInt(r.opsPerSec)} | ${fmt(r.opsPerSec / base.opsPerSec, 2)}× | ${fmt(vsCasl(r), 2)}× |`,
  ),
  '',
  '| target (issue #18) | this run | |',
  '|---|---|---|',
  ...targets.map((t) => `| ${t.join(' | ')} |`),
  '',
  `compile, shipped policies (${set.rules.length} rules): median ${fmt(shippedMs, 2)} ms of 20 runs`,
  `compile, generated ${fmtInt(10_000)} rules in 100 files: median ${fmt(bigMs, 0)} ms of 3 runs (${bigRuns.map((m) => fmt(m, 0)).join(', ')})`,
  `of which the generate-decider stage: ${fmt(generateShippedMs, 2)} ms (shipped), ${fmt(generateBigMs, 2)} ms (10,000 rules)`,
  `heap held: shipped policy set ${fmt(shippedHeap.bytes / 1024, 0)} KiB; 10,000-rule set ${fmt(bigHeap.bytes / 1024 / 1024, 1)} MiB${gc ? '' : ' (run with --expose-gc for exact figures)'}`,
];
console.log(lines.join('\n'));
if (mismatches > 0 || caslMismatches > 0) process.exitCode = 1;

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function generatedRules(count: number): SourceFile[] {
  const schema = sources.find((s) => s.path === 'schema.yaml')!;
  const conditions = [
    'resource.fleet in principal.developerOf',
    ['resource.fleet in principal.operatorOf', 'context.mfa == true'],
    'resource.organization in principal.adminOf or resource.fleet in principal.observerOf',
    ['has(resource.supportAccessUntil)', 'context.time < resource.supportAccessUntil'],
    'not (resource.fleet in principal.observerOf) and resource.id != "x"',
  ];
  const actions = ['[read]', '[read, update]', '[create, update, delete]', '[ssh, reboot]', '"*"'];
  const resources = [
    '[device]',
    '[device, release]',
    '[fleet_variable, device_variable]',
    '[build_log, image]',
    '{ except: [organization, fleet] }',
  ];
  const files: SourceFile[] = [schema];
  const perFile = count / 100;
  for (let f = 0; f < 100; f++) {
    let text = 'rules:\n';
    for (let i = 0; i < perFile; i++) {
      const n = f * perFile + i;
      const when = conditions[n % conditions.length]!;
      const whenText = Array.isArray(when) ? `\n${when.map((w) => `      - ${w}`).join('\n')}` : ` ${when}`;
      text += `  - id: rule-${n}\n    description: generated rule ${n}\n    effect: ${n % 7 === 0 ? 'deny' : 'allow'}\n    principal: user\n    actions: ${actions[n % 5]}\n    resources: ${resources[(n >> 1) % 5]}\n    when:${whenText}\n`;
    }
    files.push({ path: `generated-${String(f).padStart(3, '0')}.yaml`, text });
  }
  return files;
}
