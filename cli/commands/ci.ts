// `fleetguard ci`: one command for a policy pull request. It runs the engines of validate, test, verify and
// diff (and diff's replay) on the policy directory, against the directory as it was at a git revision, and
// writes the pull request's summary; engine/ci decides the verdict and renders the summary.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ciOutcome, renderCiSummary, type CiReport } from '../../engine/ci/index.js';
import { diffPolicies } from '../../engine/diff/index.js';
import { compilePolicyDir, readSuiteSources } from '../../engine/index.js';
import { renderJUnit, runSuites } from '../../engine/testing/index.js';
import { verifyInvariants } from '../../engine/verify/index.js';
import { helpOf, resolveSetting } from '../../server/config.js';
import { describeChange } from '../access-changes.js';
import type { CliCommand } from '../command.js';
import { EXIT, out, printDiagnostics, UsageError } from '../io.js';
import { compileLabelled, policySourcesOfDirAt } from '../policy-revision.js';
import { replayLog } from '../replay-log.js';

interface Options {
  base?: string;
  policies?: string;
  replay?: string;
  junit?: string;
  summary?: string;
  minCoverage?: string;
  allowWidening?: boolean;
}

export function define(command: CliCommand): void {
  const policies = helpOf('policies');
  command
    .option('--base <REV>', 'compare access with the policy directory as it was at this git revision')
    .option(policies.flags, policies.description)
    .option('--replay <FILE>', 're-decide the requests of this decision log (a database) with the policies')
    .option('--junit <FILE>', "write the suites' results as JUnit XML")
    .option('--summary <FILE>', 'write a Markdown summary for the pull request')
    .option('--min-coverage <PCT>', 'fail when the suites exercise fewer rules than this')
    .option('--allow-widening', 'widened access does not fail the run (it is still reported)')
    .addHelpText(
      'after',
      `
Runs, on the policy directory: validate; the suites in DIR/tests (--junit); verify of DIR/invariants.yaml;
with --base, diff against the directory at that revision (read from git, nothing is checked out); with
--replay, every logged decision whose request the sidecar logged (serve --log-requests) decided again.

Exit status: 0 every check passed and access is unchanged or narrowed; 1 a check failed (a test case, a
violated invariant, coverage below --min-coverage) or access widened without --allow-widening; 2 bad usage
or policies that do not compile.`,
    )
    .run(run);
}

async function run(values: Options): Promise<number> {
  const dir = resolveSetting('policies', values.policies, process.env);
  const minCoverage = values.minCoverage === undefined ? undefined : Number(values.minCoverage);
  if (minCoverage !== undefined && !(minCoverage >= 0 && minCoverage <= 100))
    throw new UsageError('--min-coverage takes a percentage from 0 to 100');
  if (!existsSync(dir)) throw new UsageError(`${dir}: no such policy directory`);
  if (values.replay !== undefined && !existsSync(values.replay))
    throw new UsageError(`${values.replay}: no such database`);
  const now = Date.now();
  const report: CiReport = {
    policies: dir,
    revision: null,
    diagnostics: [],
    allowWidening: values.allowWidening === true,
    ...(minCoverage !== undefined ? { minCoverage } : {}),
  };

  const { policySet: set, diagnostics } = compilePolicyDir(dir);
  report.diagnostics = diagnostics;
  if (!set) {
    printDiagnostics(diagnostics);
    out(`validate: ${diagnostics.length} error(s) in ${dir}`);
    finish(report, values);
    return EXIT.usage;
  }
  // The base is read before anything long runs: a revision git does not know is a usage error.
  const base = values.base
    ? compileLabelled(policySourcesOfDirAt(values.base, dir), `${values.base}:${dir}`)
    : undefined;

  report.revision = set.revision;
  report.counts = {
    rules: set.rules.length,
    files: new Set(set.rules.map((r) => r.ref.policy)).size,
    invariants: set.invariants.length,
  };
  out(
    `validate: ok, ${report.counts.rules} rules in ${report.counts.files} policy files, ${report.counts.invariants} invariants, revision ${set.revision}`,
  );

  if (existsSync(join(dir, 'tests'))) {
    const t = runSuites(set, readSuiteSources(dir), now);
    report.tests = t;
    if (values.junit) writeFileSync(values.junit, renderJUnit(t));
    const passed = t.cases.filter((c) => c.passed).length;
    out(
      `test: ${passed}/${t.cases.length} cases passed in ${t.suites.length} suite(s); rule coverage ${t.coverage.covered}/${t.coverage.total} (${t.coverage.percent}%)`,
    );
  } else out(`test: no suites in ${join(dir, 'tests')}`);

  if (set.invariants.length > 0) {
    report.invariants = await verifyInvariants(set, { now });
    for (const i of report.invariants) out(`verify: ${i.status} ${i.id}`);
  } else out('verify: no invariants declared');

  if (base && values.base) {
    const diff = await diffPolicies(base, set, now);
    report.base = { rev: values.base, diff };
    const w = diff.changes.filter((c) => c.change === 'widened').length;
    out(`diff against ${values.base}: ${w} widened, ${diff.changes.length - w} narrowed`);
    for (const c of diff.changes) out(`  ${describeChange(c).replaceAll('\n', '\n  ')}`);
    for (const u of diff.unknown) out(`  UNKNOWN ${u}`);
  }

  if (values.replay) {
    report.replay = await replayLog(values.replay, set);
    out(
      `replay: ${report.replay.replayable} of ${report.replay.logged} logged decision(s) replayable (logged with --log-requests), ${report.replay.flips.length} change`,
    );
    for (const f of report.replay.flips)
      out(
        `  FLIP ${f.decisionId}: ${f.was} → ${f.now} (${f.request.principal.type} ${f.request.principal.id} ${f.request.action} ${f.request.resource.type} ${f.request.resource.id})`,
      );
  }
  return finish(report, values);
}

function finish(report: CiReport, values: Options): number {
  if (values.summary) writeFileSync(values.summary, renderCiSummary(report));
  const outcome = ciOutcome(report);
  if (outcome.exit === 2) return EXIT.usage;
  out(
    outcome.failures.length > 0
      ? `FAILED: ${outcome.failures.join('; ')}`
      : `passed${outcome.widened ? ' (access widened, allowed)' : outcome.narrowed ? ' (access narrowed)' : ''}`,
  );
  return outcome.exit === 1 ? EXIT.found : EXIT.ok;
}
