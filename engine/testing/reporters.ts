// Renderings of a suite run: a summary for people, JUnit XML for CI.
import { formatDiagnostic } from '../diagnostics.js';
import type { CaseResult, SuiteRun } from './run-suites.js';

export function caseName(c: CaseResult): string {
  return `${c.test} [${c.principal} ${c.action} ${c.resource}]`;
}

export function caseFailure(c: CaseResult): string {
  const got = `${c.decision.decision}${c.decision.matched.length ? ` by ${c.decision.matched.map((m) => m.rule).join(', ')}` : ''}`;
  const parts = [];
  if (c.decision.decision !== c.expected) parts.push(`expected ${c.expected}, got ${got}`);
  for (const e of c.decision.errors ?? []) parts.push(`error: ${e.message}`);
  for (const v of c.violations) parts.push(`breaks invariant ${v.invariant}: allowed although not (${v.requirement})`);
  return parts.join('; ');
}

export function renderSummary(run: SuiteRun): string {
  const lines: string[] = run.diagnostics.map(formatDiagnostic);
  const failed = run.cases.filter((c) => !c.passed);
  for (const c of failed) lines.push(`FAIL ${c.at.file}:${c.at.line}: ${caseName(c)}: ${caseFailure(c)}`);
  const bySuite = new Map<string, { passed: number; total: number }>();
  for (const c of run.cases) {
    const s = bySuite.get(c.suite) ?? { passed: 0, total: 0 };
    s.total++;
    if (c.passed) s.passed++;
    bySuite.set(c.suite, s);
  }
  for (const [name, s] of bySuite)
    lines.push(`${s.passed === s.total ? 'ok  ' : 'FAIL'} ${name}: ${s.passed}/${s.total} cases`);
  const { coverage } = run;
  lines.push(`${run.cases.length - failed.length}/${run.cases.length} cases passed in ${run.suites.length} suite(s)`);
  lines.push(`rule coverage: ${coverage.covered}/${coverage.total} rules (${coverage.percent}%)`);
  for (const r of coverage.uncovered) lines.push(`  not exercised: ${r.rule} (${r.policy}:${r.at.line})`);
  return lines.join('\n');
}

const xml = (s: string) => s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function renderJUnit(run: SuiteRun): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const failures = run.cases.filter((c) => !c.passed).length + run.diagnostics.length;
  out.push(
    `<testsuites name="fleetguard" tests="${run.cases.length + run.diagnostics.length}" failures="${failures}">`,
  );
  const suites = new Map<string, CaseResult[]>();
  for (const c of run.cases) suites.set(c.suite, [...(suites.get(c.suite) ?? []), c]);
  for (const [name, cases] of suites) {
    const failed = cases.filter((c) => !c.passed).length;
    out.push(`  <testsuite name="${xml(name)}" tests="${cases.length}" failures="${failed}">`);
    for (const c of cases) {
      const attrs = `classname="${xml(c.suite)}" name="${xml(caseName(c))}" file="${xml(c.at.file)}" line="${c.at.line}"`;
      if (c.passed) out.push(`    <testcase ${attrs}/>`);
      else out.push(`    <testcase ${attrs}>\n      <failure message="${xml(caseFailure(c))}"/>\n    </testcase>`);
    }
    out.push('  </testsuite>');
  }
  if (run.diagnostics.length > 0) {
    out.push(
      `  <testsuite name="invalid suites" tests="${run.diagnostics.length}" failures="${run.diagnostics.length}">`,
    );
    for (const d of run.diagnostics) {
      out.push(
        `    <testcase classname="diagnostics" name="${xml(`${d.file}:${d.line}:${d.col}`)}">\n      <failure message="${xml(formatDiagnostic(d))}"/>\n    </testcase>`,
      );
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
