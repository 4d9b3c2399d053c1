import { writeFileSync } from 'node:fs';
import { compilePolicyDir, readSuiteSources } from '../../engine/index.js';
import { renderJUnit, renderSummary, runSuites } from '../../engine/testing/index.js';
import type { CliCommand } from '../command.js';
import { EXIT, out, printDiagnostics, UsageError } from '../io.js';

export function define(command: CliCommand): void {
  command
    .argument('<DIR>', 'policy directory; the suites are in DIR/tests')
    .option('--junit <FILE>', 'also write the results as JUnit XML')
    .option('--min-coverage <PCT>', 'fail (exit 1) when fewer rules than this are covered')
    .option('--json', 'print the results as JSON')
    .run(run);
}

function run(dir: string, values: { junit?: string; minCoverage?: string; json?: boolean }): number {
  const minCoverage = values.minCoverage === undefined ? undefined : Number(values.minCoverage);
  if (minCoverage !== undefined && !(minCoverage >= 0 && minCoverage <= 100))
    throw new UsageError('--min-coverage takes a percentage from 0 to 100');

  const { policySet, diagnostics } = compilePolicyDir(dir);
  if (!policySet) {
    printDiagnostics(diagnostics);
    return EXIT.usage;
  }
  const suites = readSuiteSources(dir);
  if (suites.length === 0) throw new UsageError(`no test suites in ${dir}/tests`);
  const result = runSuites(policySet, suites, Date.now());
  if (values.junit) writeFileSync(values.junit, renderJUnit(result));
  out(values.json ? JSON.stringify(result, null, 2) : renderSummary(result));
  if (result.diagnostics.length > 0) return EXIT.usage;
  if (result.cases.some((c) => !c.passed)) return EXIT.found;
  if (minCoverage !== undefined && result.coverage.percent < minCoverage) {
    out(`rule coverage ${result.coverage.percent}% is below --min-coverage ${minCoverage}%`);
    return EXIT.found;
  }
  return EXIT.ok;
}
