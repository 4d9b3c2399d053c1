// The routes' latency histogram is counted by hand (server/plugins/route-latency.ts) and must expose
// exactly what prom-client's own Histogram would for the same observations.
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BUCKETS, RouteLatency } from '../../server/plugins/route-latency.js';

describe('route latency histogram', () => {
  it('renders the same series as a prom-client Histogram fed the same observations', async () => {
    const observation = fc.tuple(
      fc.constantFrom('authorize', 'batch'),
      fc.oneof(fc.constantFrom(...BUCKETS, 0), fc.double({ min: 0, max: 1, noNaN: true })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { minLength: 1, maxLength: 200 }), async (observations) => {
        const ours = new Registry();
        const latency = new RouteLatency(ours);
        const theirs = new Registry();
        const reference = new Histogram({
          name: latency.name,
          help: latency.help,
          labelNames: ['route'],
          buckets: BUCKETS,
          registers: [theirs],
        });
        for (const [route, seconds] of observations) {
          latency.timer(route).observe(seconds);
          reference.labels(route).observe(seconds);
        }
        const lines = (text: string) => text.split('\n').filter(Boolean).sort();
        const [a, b] = [lines(await ours.metrics()), lines(await theirs.metrics())];
        // Sums are added in another order: equal up to rounding.
        const sums = (l: string[]) => l.filter((x) => x.includes('_sum')).map((x) => Number(x.split(' ').at(-1)));
        expect(a.filter((x) => !x.includes('_sum'))).toEqual(b.filter((x) => !x.includes('_sum')));
        sums(a).forEach((s, i) => expect(s).toBeCloseTo(sums(b)[i]!, 9));
      }),
      { numRuns: 300 },
    );
  });
});
