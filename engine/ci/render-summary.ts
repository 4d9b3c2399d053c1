// `fleetguard ci`'s summary: Markdown fit for a pull request's comment (GitHub's flavour: tables and
// <details>). What changed comes first, then every check; each example request is the one the diff
// re-decided with both policy sets.
import { formatDiagnostic } from '../diagnostics.js';
import type { AccessChange, RuleSummary } from '../diff/diff-policies.js';
import { caseFailure, caseName } from '../testing/reporters.js';
import { ciOutcome, type CiReport } from './ci-report.js';

/** Most items listed in one section; the rest are counted. */
const LIST_MAX = 20;

const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const cell = (s: string) => s.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
const rules = (list: RuleSummary[]) =>
  list.map((r) => `${code(r.rule)} (${r.policy}:${r.line}) when ${code(r.when)}`).join('; ');

function example(json: unknown): string[] {
  return [
    '<details><summary>example request</summary>',
    '',
    '```json',
    JSON.stringify(json, null, 2),
    '```',
    '',
    '</details>',
  ];
}

function changeLines(c: AccessChange): string[] {
  const what = `**${c.principal}** ${code(c.action)} on **${c.resource}**`;
  const why =
    c.change === 'widened'
      ? `newly allowed by ${rules(c.because)}`
      : `no longer allowed; was allowed by ${rules(c.because)}${c.deniedBy.length ? `; now denied by ${rules(c.deniedBy)}` : ''}`;
  return [`- ${what}: ${why}`, '', ...example(c.example).map((l) => (l ? `  ${l}` : l)), ''];
}

function capped<T>(items: T[], render: (item: T) => string[]): string[] {
  const lines = items.slice(0, LIST_MAX).flatMap(render);
  if (items.length > LIST_MAX) lines.push(`- … and ${items.length - LIST_MAX} more`, '');
  return lines;
}

export function renderCiSummary(r: CiReport): string {
  const outcome = ciOutcome(r);
  const verdict =
    outcome.exit === 2
      ? 'the policies do not compile'
      : outcome.failures.length > 0
        ? outcome.failures.join('; ')
        : outcome.widened
          ? 'access widened, accepted with --allow-widening'
          : outcome.narrowed
            ? 'passed; access narrowed'
            : 'passed';
  const lines = [
    `## Fleetguard policy check: ${outcome.exit === 0 ? 'passed' : 'FAILED'}`,
    '',
    `${code(r.policies)}${r.revision ? ` at ${code(r.revision)}` : ''}${r.base ? `, against ${code(r.base.rev)} (${code(r.base.diff.oldRevision)})` : ''}: ${verdict}.`,
    '',
  ];
  if (r.revision === null) {
    lines.push('```', ...r.diagnostics.map(formatDiagnostic), '```', '');
    return lines.join('\n');
  }

  const rows: [string, string][] = [];
  const c = r.counts!;
  rows.push(['validate', `ok: ${c.rules} rules in ${c.files} policy files, ${c.invariants} invariants`]);
  const t = r.tests;
  if (t) {
    const passed = t.cases.filter((x) => x.passed).length;
    rows.push([
      'tests',
      `${passed === t.cases.length && t.diagnostics.length === 0 ? 'ok' : '**FAILED**'}: ${passed}/${t.cases.length} cases passed in ${t.suites.length} suite(s)${t.diagnostics.length ? `, ${t.diagnostics.length} error(s) in the suites` : ''}`,
    ]);
    const low = r.minCoverage !== undefined && t.coverage.percent < r.minCoverage;
    rows.push([
      'rule coverage',
      `${low ? '**below** ' : ''}${t.coverage.covered}/${t.coverage.total} rules (${t.coverage.percent}%)${r.minCoverage !== undefined ? `, at least ${r.minCoverage}% required` : ''}`,
    ]);
  } else rows.push(['tests', 'no suites (tests/)']);
  if (r.invariants) {
    const n = (s: string) => r.invariants!.filter((i) => i.status === s).length;
    const violated = n('VIOLATED');
    rows.push([
      'invariants',
      `${violated ? `**${violated} violated**, ` : ''}${n('PROVED')} proved${n('UNKNOWN') ? `, ${n('UNKNOWN')} unknown` : ''}`,
    ]);
  } else rows.push(['invariants', 'none declared']);
  if (r.base) {
    const w = r.base.diff.changes.filter((x) => x.change === 'widened').length;
    const nr = r.base.diff.changes.filter((x) => x.change === 'narrowed').length;
    rows.push([
      `access against ${code(r.base.rev)}`,
      w + nr === 0
        ? 'unchanged'
        : `${w ? `**${w} widened**` : '0 widened'}, ${nr} narrowed${r.base.diff.unknown.length ? `, ${r.base.diff.unknown.length} undecided` : ''}`,
    ]);
  } else rows.push(['access', 'not compared (no --base)']);
  if (r.replay) {
    const toAllow = r.replay.flips.filter((f) => f.now === 'allow').length;
    rows.push([
      `replay of ${code(r.replay.file)}`,
      `${r.replay.replayable} of ${r.replay.logged} logged decisions replayable (logged with their request); ${r.replay.flips.length} change (${toAllow ? `**${toAllow} now allowed**` : '0 now allowed'}, ${r.replay.flips.length - toAllow} now denied)`,
    ]);
  }
  lines.push('| check | result |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`), '');

  const changes = r.base?.diff.changes ?? [];
  const widened = changes.filter((x) => x.change === 'widened');
  const narrowed = changes.filter((x) => x.change === 'narrowed');
  if (widened.length) lines.push('### Widened: newly allowed', '', ...capped(widened, changeLines));
  if (narrowed.length) lines.push('### Narrowed: no longer allowed', '', ...capped(narrowed, changeLines));
  if (r.base?.diff.unknown.length)
    lines.push('### Not decided by the solver', '', ...capped(r.base.diff.unknown, (u) => [`- ${u}`]), '');
  const violated = (r.invariants ?? []).filter((i) => i.status !== 'PROVED');
  if (violated.length) {
    lines.push('### Invariants not proved', '');
    for (const i of violated) {
      if (i.status === 'VIOLATED')
        lines.push(
          `- **VIOLATED** ${code(i.id)}: ${i.description} Granted by ${code(i.rule!.rule)} (${i.rule!.at.file}:${i.rule!.at.line}).`,
          '',
          ...example(i.counterexample).map((l) => (l ? `  ${l}` : l)),
          '',
        );
      else lines.push(`- UNKNOWN ${code(i.id)}: ${i.why ?? ''}`, '');
    }
  }
  if (t) {
    const failed = t.cases.filter((x) => !x.passed);
    if (failed.length || t.diagnostics.length) {
      lines.push('### Failing tests', '');
      for (const d of t.diagnostics) lines.push(`- ${code(formatDiagnostic(d))}`);
      lines.push(...capped(failed, (x) => [`- ${x.at.file}:${x.at.line}: ${caseName(x)}: ${caseFailure(x)}`]), '');
    }
    if (t.coverage.uncovered.length) {
      lines.push('### Rules no test case exercises', '');
      lines.push(...capped(t.coverage.uncovered, (u) => [`- ${code(u.rule)} (${u.policy}:${u.at.line})`]), '');
    }
  }
  if (r.replay?.flips.length) {
    lines.push(
      '### Replayed decisions that change',
      '',
      '| decision | was | now | principal | action | resource |',
      '|---|---|---|---|---|---|',
    );
    for (const f of r.replay.flips.slice(0, LIST_MAX))
      lines.push(
        `| ${cell(f.decisionId)} | ${f.was} | **${f.now}** | ${cell(`${f.request.principal.type} ${f.request.principal.id}`)} | ${cell(f.request.action)} | ${cell(`${f.request.resource.type} ${f.request.resource.id}`)} |`,
      );
    if (r.replay.flips.length > LIST_MAX) lines.push('', `… and ${r.replay.flips.length - LIST_MAX} more`);
    lines.push('');
  }
  if (r.replay && r.replay.replayable < r.replay.logged)
    lines.push(
      `${r.replay.logged - r.replay.replayable} logged decision(s) could not be replayed: the sidecar logs a request only with \`--log-requests\`, and a credential it could not resolve has no principal to decide again.`,
      '',
    );
  return lines.join('\n');
}
