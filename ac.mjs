import autocannon from 'autocannon';
import { generateRequests } from './dist/bench/workload.js';
const requests = generateRequests(1000, 7);
const bodies = process.argv[3] === 'batch' ? Array.from({ length: 10 }, (_, i) => JSON.stringify({ requests: requests.slice(i * 100, i * 100 + 100) })) : requests.slice(0, 200).map((r) => JSON.stringify(r));
const r = await autocannon({ url: process.argv[2], connections: 50, duration: 5, method: 'POST', headers: { 'content-type': 'application/json' }, requests: bodies.map((body) => ({ method: 'POST', body })) });
console.log(r.requests.average, r.latency.p99, r.non2xx, r.errors);
