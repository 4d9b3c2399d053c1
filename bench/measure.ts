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
