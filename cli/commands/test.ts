import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compilePolicyDir, readSuiteSources } from '../../engine/index.js';
import { renderJUnit, renderSummary } from '../../engine/testing/reporters.js';
import { runSuites } from '../../engine/testing/run-suites.js';
import { EXIT, out, printDiagnostics, UsageError } from '../io.js';

export const summary = 'test DIR [--junit FILE] [--min-coverage PCT]   run the suites in DIR/tests';

export function run(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      junit: { type: 'string' },
      'min-coverage': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = positionals[0];
  if (!dir) throw new UsageError('usage: fleetguard test DIR [--junit FILE] [--min-coverage PCT]');
  const minCoverage = values['min-coverage'] === undefined ? undefined : Number(values['min-coverage']);
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
