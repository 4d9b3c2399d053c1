import { loadPolicySet, planQuery, PlanRequestSchema, unknownNames } from '../../engine/index.js';
import type { CliCommand } from '../command.js';
import { EXIT, out, parseOrUsage, readJson, UsageError } from '../io.js';

export function define(command: CliCommand): void {
  command
    .requiredOption('--request <FILE|->', 'the request of /v1/plan as JSON (-: stdin)')
    .option('--policies <DIR>', 'policy directory', 'policies')
    .run(run);
}

function run(values: { request: string; policies: string }): number {
  const req = parseOrUsage(PlanRequestSchema, readJson(values.request), 'invalid request');
  const set = loadPolicySet(values.policies);
  const [unknown] = unknownNames(set, {
    principalType: req.principal.type,
    action: req.action,
    resourceType: req.resourceType,
  });
  if (unknown) throw new UsageError(unknown.message);
  out(JSON.stringify(planQuery(set, req, Date.now()), null, 2));
  return EXIT.ok;
}
