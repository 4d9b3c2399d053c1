import { parseArgs } from 'node:util';
import { loadPolicySet, planQuery, PlanRequestSchema } from '../../engine/index.js';
import { EXIT, out, readJson, requireOption, UsageError } from '../io.js';

export const summary = 'plan --policies DIR --request FILE|-   the query plan of /v1/plan: a condition and a SQL WHERE clause';

export function run(args: string[]): number {
  const { values } = parseArgs({ args, options: { policies: { type: 'string', default: 'policies' }, request: { type: 'string' } } });
  const parsed = PlanRequestSchema.safeParse(readJson(requireOption(values.request, '--request FILE|-')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`invalid request: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const set = loadPolicySet(values.policies!);
  const req = parsed.data;
  if (!set.schema.principals.has(req.principal.type)) throw new UsageError(`unknown principal type \`${req.principal.type}\``);
  if (!set.schema.actions.includes(req.action)) throw new UsageError(`unknown action \`${req.action}\``);
  if (!set.schema.resources.has(req.resourceType)) throw new UsageError(`unknown resource type \`${req.resourceType}\``);
  out(JSON.stringify(planQuery(set, req, Date.now()), null, 2));
  return EXIT.ok;
}
