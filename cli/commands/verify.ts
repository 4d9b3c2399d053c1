import { parseArgs } from 'node:util';
import { loadPolicySet } from '../../engine/index.js';
import { verifyInvariants } from '../../engine/verify/verify-invariants.js';
import { EXIT, out, UsageError } from '../io.js';

export const summary =
  'verify DIR [--json]         prove every invariant of DIR/invariants.yaml (PROVED, VIOLATED, UNKNOWN)';

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  const dir = positionals[0];
  if (!dir) throw new UsageError('usage: fleetguard verify DIR [--json]');
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
