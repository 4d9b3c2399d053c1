// Baselines for the HTTP benchmark, run as their own process like the sidecar:
//   POST /bare     a bare fastify route returning a constant body: a decision-shaped object of the
//                  size of a real answer (the load generator's cost grows with response bytes, and
//                  that is not what this comparison is about);
//   POST /ceiling  parses a batch body and returns one constant result per item (no validation, no
//                  decision): the most a batch endpoint could serve on this machine.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
const constant = {
  decision: 'deny',
  allowed: false,
  decisionId: '0000000000000000-00000000',
  policyRevision: 'sha256:0000000000000000',
  matched: [],
};
const typical = {
  decision: 'allow',
  allowed: true,
  decisionId: '0000000000000000-0000000',
  policyRevision: 'sha256:0000000000000000',
  matched: [{ policy: 'devices.yaml', rule: 'device-read-fleet-content', effect: 'allow' }],
};
app.post('/bare', async () => typical);
app.post<{ Body: { requests: unknown[] } }>('/ceiling', async (request) => ({
  results: request.body.requests.map(() => constant),
}));

const address = await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
console.log(JSON.stringify({ msg: 'fleetguard sidecar listening', address }));
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
