// The authorize routes' latency histogram, `fleetguard_http_request_duration_seconds{route}`.
// prom-client's Histogram hashes its labels on every observation (a tenth of the single route's whole
// cost over a bare fastify route, bench/README.md); here a route's buckets are plain counters, and
// the metric hands prom-client's registry the same series a Histogram would when Prometheus scrapes.
import type { Metric, Registry } from 'prom-client';

export const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];

/** Times one route: `const t = timer.start(); …; timer.end(t)`. */
export class RouteTimer {
  /** Observations per bucket (the last: above every bound). */
  readonly counts = new Float64Array(BUCKETS.length + 1);
  sum = 0;

  start(): number {
    return performance.now();
  }

  end(started: number): void {
    this.observe((performance.now() - started) / 1000);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
  }
}

export class RouteLatency {
  readonly name = 'fleetguard_http_request_duration_seconds';
  readonly help = 'Time to answer an authorization request (one decision or a batch), from routing to reply.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly routes = new Map<string, RouteTimer>();

  constructor(registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  timer(route: string): RouteTimer {
    let t = this.routes.get(route);
    if (!t) this.routes.set(route, (t = new RouteTimer()));
    return t;
  }

  /** What the registry asks a metric for: cumulative buckets, sum and count per route. */
  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [route, { counts, sum }] of this.routes) {
      let cumulative = 0;
      BUCKETS.forEach((le, i) => {
        cumulative += counts[i]!;
        values.push({ labels: { le, route }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      cumulative += counts[BUCKETS.length]!;
      values.push({ labels: { le: '+Inf', route }, value: cumulative, metricName: `${this.name}_bucket` });
      values.push({ labels: { route }, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels: { route }, value: cumulative, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
