import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AuthorizeRequestSchema, loadEngine, renderExplanation } from '../../engine/index.js';
import { EXIT, out, parseOrUsage, readJson, requireOption } from '../io.js';

export const summary =
  'check --policies DIR --request FILE|- [--explain]   decide one request or { "requests": [...] }';

const Batch = z.object({ requests: z.array(AuthorizeRequestSchema) });

export function run(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      policies: { type: 'string', default: 'policies' },
      request: { type: 'string' },
      explain: { type: 'boolean', default: false },
    },
  });
  const raw = readJson(requireOption(values.request, '--request FILE|-'));
  const isBatch = typeof raw === 'object' && raw !== null && 'requests' in raw;
  const requests = isBatch
    ? parseOrUsage(Batch, raw, 'invalid request').requests
    : [parseOrUsage(AuthorizeRequestSchema, raw, 'invalid request')];
  const engine = loadEngine(values.policies!);
  if (values.explain) {
    out(requests.map((r) => renderExplanation(engine.explain(r))).join('\n\n'));
  } else if (isBatch) {
    out(JSON.stringify({ results: engine.authorizeBatch(requests) }, null, 2));
  } else {
    out(JSON.stringify(engine.authorize(requests[0]!), null, 2));
  }
  return EXIT.ok;
}
