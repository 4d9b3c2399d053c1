// What `fleetguard ci` found, as data, and what follows from it: the checks that failed, whether access
// widened, the exit status (DESIGN.md §5: 0 unchanged or narrowed, 1 widened or a failing check). The
// command gathers it with the engines of validate, test, verify and diff; the summary renders it.
import type { Diagnostic } from '../diagnostics.js';
import type { PolicyDiff, ReplayFlip } from '../diff/diff-policies.js';
import type { SuiteRun } from '../testing/run-suites.js';
import type { VerifyResult } from '../verify/verify-invariants.js';

export interface CiReport {
  /** The policy directory as given. */
  policies: string;
  /** Null when the policies do not compile (then `diagnostics` says why and nothing else ran). */
  revision: string | null;
  diagnostics: Diagnostic[];
  counts?: { rules: number; files: number; invariants: number };
  /** Absent when the directory has no tests/. */
  tests?: SuiteRun;
  minCoverage?: number;
  /** Absent when the set declares no invariants. */
  invariants?: VerifyResult[];
  base?: { rev: string; diff: PolicyDiff };
  replay?: { file: string; logged: number; replayable: number; flips: ReplayFlip[] };
  allowWidening: boolean;
}

export interface CiOutcome {
  /** Access the base did not grant (a widened change, or a replayed decision now allowed). */
  widened: boolean;
  narrowed: boolean;
  /** One line per failing check. */
  failures: string[];
  exit: 0 | 1 | 2;
}

export function ciOutcome(r: CiReport): CiOutcome {
  if (r.revision === null)
    return { widened: false, narrowed: false, failures: ['the policies do not compile'], exit: 2 };
  const failures: string[] = [];
  const t = r.tests;
  if (t) {
    if (t.diagnostics.length > 0) failures.push(`${t.diagnostics.length} error(s) in the test suites`);
    const failed = t.cases.filter((c) => !c.passed).length;
    if (failed > 0) failures.push(`${failed} test case(s) failed`);
    if (r.minCoverage !== undefined && t.coverage.percent < r.minCoverage)
      failures.push(`rule coverage ${t.coverage.percent}% is below ${r.minCoverage}%`);
  }
  const violated = (r.invariants ?? []).filter((i) => i.status === 'VIOLATED');
  if (violated.length > 0) failures.push(`invariant(s) violated: ${violated.map((i) => i.id).join(', ')}`);
  const changes = r.base?.diff.changes ?? [];
  const flips = r.replay?.flips ?? [];
  const widened = changes.some((c) => c.change === 'widened') || flips.some((f) => f.now === 'allow');
  const narrowed = changes.some((c) => c.change === 'narrowed') || flips.some((f) => f.now === 'deny');
  if (widened && !r.allowWidening) failures.push('access widened (--allow-widening accepts it)');
  return { widened, narrowed, failures, exit: failures.length > 0 ? 1 : 0 };
}
