import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AuthorizeRequestSchema, loadEngine, renderExplanation } from '../../engine/index.js';
import { EXIT, out, readJson, requireOption, UsageError } from '../io.js';

export const summary = 'check --policies DIR --request FILE|- [--explain]   decide one request or { "requests": [...] }';

const Batch = z.object({ requests: z.array(AuthorizeRequestSchema) });

export function run(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { policies: { type: 'string', default: 'policies' }, request: { type: 'string' }, explain: { type: 'boolean', default: false } },
  });
  const raw = readJson(requireOption(values.request, '--request FILE|-'));
  const isBatch = typeof raw === 'object' && raw !== null && 'requests' in raw;
  const parsed = (isBatch ? Batch : AuthorizeRequestSchema).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`invalid request: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const engine = loadEngine(values.policies!);
  const requests = 'requests' in parsed.data ? parsed.data.requests : [parsed.data];
  if (values.explain) {
    out(requests.map((r) => renderExplanation(engine.explain(r))).join('\n\n'));
  } else if ('requests' in parsed.data) {
    out(JSON.stringify({ results: engine.authorizeBatch(requests) }, null, 2));
  } else {
    out(JSON.stringify(engine.authorize(parsed.data), null, 2));
  }
  return EXIT.ok;
}
