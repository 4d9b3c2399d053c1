import { loadPolicySet } from '../../engine/index.js';
import { verifyInvariants } from '../../engine/verify/index.js';
import type { CliCommand } from '../command.js';
import { EXIT, out, UsageError } from '../io.js';

export function define(command: CliCommand): void {
  command
    .argument('<DIR>', 'policy directory with invariants.yaml')
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nExit status: 0 all proved, 1 any violated, 3 none violated but some unknown.')
    .run(run);
}

async function run(dir: string, values: { json?: boolean }): Promise<number> {
  const set = loadPolicySet(dir);
  if (set.invariants.length === 0) throw new UsageError(`${dir} declares no invariants (invariants.yaml)`);
  const results = await verifyInvariants(set, { now: Date.now() });
  if (values.json) {
    out(JSON.stringify({ policyRevision: set.revision, results }, null, 2));
  } else {
    for (const r of results) {
      if (r.status === 'PROVED') out(`PROVED ${r.id}`);
      else if (r.status === 'UNKNOWN') out(`UNKNOWN ${r.id}: ${r.why}`);
      else {
        out(`VIOLATED ${r.id}: ${r.description}`);
        out(`  granted by rule ${r.rule!.rule} at ${r.rule!.at.file}:${r.rule!.at.line}`);
        out(`  counterexample: ${JSON.stringify(r.counterexample)}`);
      }
    }
  }
  if (results.some((r) => r.status === 'VIOLATED')) return EXIT.found;
  if (results.some((r) => r.status === 'UNKNOWN')) return EXIT.unknown;
  return EXIT.ok;
}
