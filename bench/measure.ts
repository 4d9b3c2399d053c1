// Timing helpers shared by the benchmarks: batch timing with hrtime, median and p99 per operation.

export interface Stats {
  name: string;
  ops: number;
  opsPerSec: number;
  medianUs: number;
  p99Us: number;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/**
 * Runs `fn(i)` over `count` items in batches of `batch`, timing each batch: per-operation latency is the
 * batch time divided by the batch size (a single sub-microsecond call is below the timer's resolution).
 */
export function measure(
  name: string,
  count: number,
  fn: (i: number) => unknown,
  { batch = 16, rounds = 3 } = {},
): Stats {
  let sink = 0;
  for (let i = 0; i < Math.min(count, 50_000); i++) if (fn(i)) sink++; // warm up the JIT
  const samples: number[] = [];
  let total = 0n;
  for (let round = 0; round < rounds; round++) {
    for (let start = 0; start < count; start += batch) {
      const end = Math.min(count, start + batch);
      const t0 = process.hrtime.bigint();
      for (let i = start; i < end; i++) if (fn(i)) sink++;
      const dt = process.hrtime.bigint() - t0;
      total += dt;
      samples.push(Number(dt) / 1000 / (end - start));
    }
  }
  samples.sort((a, b) => a - b);
  const ops = count * rounds;
  if (sink < 0) console.log(sink);
  return {
    name,
    ops,
    opsPerSec: ops / (Number(total) / 1e9),
    medianUs: percentile(samples, 50),
    p99Us: percentile(samples, 99),
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export const fmt = (n: number, digits = 3) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * `measure` for several paths at once. Each round times every path over the whole stream, the paths
 * taking turns (which goes first moves round by round), so that when the machine's load drifts (it is
 * shared) it weighs on every path alike and the ratios between paths stay meaningful. Decisions/s are
 * over the process's CPU time, not wall time: a pass the scheduler interrupts for other processes is
 * not charged for their work (latencies, per batch, stay wall time).
 */
export function measureInterleaved(
  paths: readonly { name: string; fn: (i: number) => unknown }[],
  count: number,
  { batch = 16, rounds = 5 } = {},
): Stats[] {
  let sink = 0;
  for (const { fn } of paths) for (let i = 0; i < Math.min(count, 50_000); i++) if (fn(i)) sink++; // warm up the JIT
  const samples: number[][] = paths.map(() => []);
  const cpuUs: number[] = paths.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < paths.length; turn++) {
      const p = (turn + round) % paths.length;
      const fn = paths[p]!.fn;
      const own = samples[p]!;
      const cpu = process.cpuUsage();
      for (let start = 0; start < count; start += batch) {
        const end = Math.min(count, start + batch);
        const t0 = process.hrtime.bigint();
        for (let i = start; i < end; i++) if (fn(i)) sink++;
        own.push(Number(process.hrtime.bigint() - t0) / 1000 / (end - start));
      }
      const used = process.cpuUsage(cpu);
      cpuUs[p]! += used.user + used.system;
    }
  }
  if (sink < 0) console.log(sink);
  return paths.map(({ name }, p) => {
    const sorted = samples[p]!.sort((a, b) => a - b);
    const ops = count * rounds;
    return {
      name,
      ops,
      opsPerSec: ops / (cpuUs[p]! / 1e6),
      medianUs: percentile(sorted, 50),
      p99Us: percentile(sorted, 99),
    };
  });
}

/** The address a sidecar started as a child process says it listens on (its first JSON log line saying so). */
export function listeningUrl(child: import('node:child_process').ChildProcess): Promise<string> {
  let out = '';
  return new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('fleetguard sidecar listening'));
      if (line) resolve(JSON.parse(line).address);
    });
    child.on('exit', () => reject(new Error(`exited:\n${out}`)));
  });
}
