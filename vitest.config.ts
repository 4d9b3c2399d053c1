import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// `npm run test:deep` runs many more property runs and rounds of the races (test/support/depth.ts).
const deep = process.env.FLEETGUARD_TEST_DEEP === '1';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two files at a time even on two cores (vitest's default there is one): most files wait on a
    // sidecar, a child process or a thread for part of their time, and the other core takes up the slack.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Files share a worker's loaded modules instead of loading the whole graph again for each one (a
    // quarter of the suite's time went there). Tests hold no state in modules: each file makes its own
    // servers, databases and metric registries.
    isolate: false,
    // Limits that only turn a hang into a failure, never a measure of speed: a test waits for what it
    // expects, and a machine shared by many (load 35 on two cores, seen here) makes a 3 s test take 60 s.
    testTimeout: deep ? 1_800_000 : 300_000,
    hookTimeout: 300_000,
  },
});
