import { compilePolicyDir } from '../../engine/index.js';
import type { CliCommand } from '../command.js';
import { EXIT, out, printDiagnostics } from '../io.js';

export function define(command: CliCommand): void {
  command.argument('<DIR>', 'policy directory').run(run);
}

function run(dir: string): number {
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
