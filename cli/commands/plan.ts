import { parseArgs } from 'node:util';
import { loadPolicySet, planQuery, PlanRequestSchema, unknownNames } from '../../engine/index.js';
import { EXIT, out, parseOrUsage, readJson, requireOption, UsageError } from '../io.js';

export const summary =
  'plan --policies DIR --request FILE|-   the query plan of /v1/plan: a condition and a SQL WHERE clause';

export function run(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { policies: { type: 'string', default: 'policies' }, request: { type: 'string' } },
  });
  const req = parseOrUsage(
    PlanRequestSchema,
    readJson(requireOption(values.request, '--request FILE|-')),
    'invalid request',
  );
  const set = loadPolicySet(values.policies!);
  const [unknown] = unknownNames(set, {
    principalType: req.principal.type,
    action: req.action,
    resourceType: req.resourceType,
  });
  if (unknown) throw new UsageError(unknown.message);
  out(JSON.stringify(planQuery(set, req, Date.now()), null, 2));
  return EXIT.ok;
}
