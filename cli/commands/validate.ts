import { parseArgs } from 'node:util';
import { compilePolicyDir } from '../../engine/index.js';
import { EXIT, out, printDiagnostics, UsageError } from '../io.js';

export const summary = 'validate DIR               check every policy file; print all errors as file:line:col';

export function run(args: string[]): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const dir = positionals[0];
  if (!dir) throw new UsageError('usage: fleetguard validate DIR');
  const { policySet, diagnostics } = compilePolicyDir(dir);
  printDiagnostics(diagnostics);
  if (!policySet) {
    out(`${diagnostics.length} error(s) in ${dir}`);
    return EXIT.usage;
  }
  const files = new Set(policySet.rules.map((r) => r.ref.policy)).size;
  out(
    `ok: ${policySet.rules.length} rules in ${files} policy files, ${policySet.invariants.length} invariants, revision ${policySet.revision}`,
  );
  return EXIT.ok;
}
