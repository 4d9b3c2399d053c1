import { z } from 'zod';
import { AuthorizeRequestSchema, loadEngine, renderExplanation } from '../../engine/index.js';
import type { CliCommand } from '../command.js';
import { EXIT, out, parseOrUsage, readJson } from '../io.js';

const Batch = z.object({ requests: z.array(AuthorizeRequestSchema) });

export function define(command: CliCommand): void {
  command
    .requiredOption('--request <FILE|->', 'the request as JSON, one or { "requests": [...] } (-: stdin)')
    .option('--policies <DIR>', 'policy directory', 'policies')
    .option('--explain', 'explain each decision, for people')
    .run(run);
}

function run(values: { request: string; policies: string; explain?: boolean }): number {
  const raw = readJson(values.request);
  const isBatch = typeof raw === 'object' && raw !== null && 'requests' in raw;
  const requests = isBatch
    ? parseOrUsage(Batch, raw, 'invalid request').requests
    : [parseOrUsage(AuthorizeRequestSchema, raw, 'invalid request')];
  const engine = loadEngine(values.policies);
  if (values.explain) {
    out(requests.map((r) => renderExplanation(engine.explain(r))).join('\n\n'));
  } else if (isBatch) {
    out(JSON.stringify({ results: engine.authorizeBatch(requests) }, null, 2));
  } else {
    out(JSON.stringify(engine.authorize(requests[0]!), null, 2));
  }
  return EXIT.ok;
}
