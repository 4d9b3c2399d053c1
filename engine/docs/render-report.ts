// The report rendered for people: one self-contained HTML page (no scripts, no external assets) and the
// same content as Markdown.
import type { Cell, Report, ReportUsage } from './report.js';
import { usageChartSvg, usageSparkline } from './usage-chart.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function cellText(c: Cell): string {
  if (c.kind !== 'conditional') return c.kind;
  const allow = c.allowIf.length === 1 ? c.allowIf[0]! : c.allowIf.map((x) => `(${x})`).join(' or ');
  return `if ${allow}${c.unless.length ? `; unless ${c.unless.join(' or ')}` : ''}`;
}

const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const when = (t: number | null) => (t === null ? 'never' : new Date(t).toISOString().slice(0, 16).replace('T', ' '));

function barSpan(ms: number): string {
  if (ms % 86_400_000 === 0) return ms === 86_400_000 ? 'one day' : `${ms / 86_400_000} days`;
  if (ms >= 3_600_000) return `about ${Math.round(ms / 3_600_000)} hour(s)`;
  return `about ${Math.max(1, Math.round(ms / 60_000))} minute(s)`;
}

function usageIntro(u: ReportUsage, rules: number): string {
  return `${u.decisions} decision(s) in the decision log from ${when(u.since)} to ${when(u.until)} (UTC); each bar is ${barSpan(u.bucketMs)}. ${u.unusedRules.length} of ${rules} rules never matched.`;
}

const VERDICT: Record<ReportUsage['rules'][number]['verdict'], string> = {
  used: 'used',
  narrow: 'used on part of its scope: could be narrowed',
  remove: 'never matched: remove it, or find who needs it',
  'unused-deny': 'never denied anything (a guard)',
};

function usageHtml(u: ReportUsage, ruleCount: number): string {
  const rows = u.rules
    .map((r) => {
      const unused = r.matches === 0;
      const narrow =
        r.verdict === 'narrow'
          ? `<br><small>never: ${esc(r.unexercised.map((p) => `${p.action} ${p.resource}`).join(', '))}</small>`
          : '';
      return `
        <tr class="${unused ? 'unused' : 'used'}" data-rule="${esc(r.id)}"><th scope="row"><a href="#rule-${esc(r.id)}">${esc(r.id)}</a>${unused ? ' <span class="badge">never matched</span>' : ''}</th><td class="count">${r.matches}</td><td>${usageChartSvg(r.series, u.since, u.bucketMs, r.id)}</td><td>${esc(when(r.lastMatched))}</td><td class="verdict">${esc(VERDICT[r.verdict])}${narrow}</td></tr>`;
    })
    .join('');
  return `
  <section id="usage">
    <h2>Usage</h2>
    <p class="usage-intro">${esc(usageIntro(u, ruleCount))} A rule matches when it decides a decision: an allow rule that allowed, a deny rule that denied.${u.revisions.length ? ` Decided by ${esc(u.revisions.join(', '))}.` : ''}</p>
    <table class="usage"><thead><tr><th>rule</th><th>matches</th><th>over time (${esc(day(u.since))} to ${esc(day(u.until))})</th><th>last matched</th><th>what it suggests</th></tr></thead><tbody>${rows}
      </tbody></table>
  </section>`;
}

export function renderHtml(report: Report): string {
  const summary = report.invariants.map((i) => `${i.status} ${i.id}`).join(', ');
  const matrix = report.matrix
    .map(
      (m) => `
  <section class="principal" id="principal-${esc(m.principal)}">
    <h3>${esc(m.principal)}</h3>
    <table class="matrix">
      <thead><tr><th>resource type</th>${report.actions.map((a) => `<th>${esc(a)}</th>`).join('')}</tr></thead>
      <tbody>
${m.rows
  .map(
    (row) =>
      `        <tr><th scope="row">${esc(row.resource)}</th>${row.cells
        .map(
          (c, i) =>
            `<td class="${c.kind}" data-cell="${esc(`${m.principal}/${row.resource}/${report.actions[i]}`)}">${c.kind === 'conditional' ? `<span class="tag">conditional</span> ${esc(cellText(c))}` : esc(c.kind)}</td>`,
        )
        .join('')}</tr>`,
  )
  .join('\n')}
      </tbody>
    </table>
  </section>`,
    )
    .join('\n');
  const unused = new Set(report.usage?.unusedRules ?? []);
  const rules = report.rules
    .map(
      (r) => `
    <article class="rule ${r.effect}${unused.has(r.id) ? ' unused' : ''}" id="rule-${esc(r.id)}">
      <h3><span class="effect">${esc(r.effect)}</span> ${esc(r.id)}${unused.has(r.id) ? ' <span class="badge">never matched in the log</span>' : ''}</h3>
      <p class="description">${esc(r.description)}</p>
      <p class="scope">${esc(r.principal)} may${r.effect === 'deny' ? ' not' : ''} ${esc(r.actions.join(', '))} on ${esc(r.resources.join(', '))}${r.conditionInWords ? ` when ${esc(r.conditionInWords)}` : ', always'}.</p>
      ${r.condition ? `<pre class="condition">${esc(r.condition)}</pre>` : ''}
      <p class="source">${esc(r.at.file)}:${r.at.line}</p>
    </article>`,
    )
    .join('\n');
  const invariants = report.invariants
    .map(
      (i) => `
      <tr class="${i.status.toLowerCase()}" data-invariant="${esc(i.id)}"><td class="status">${i.status}</td><td>${esc(i.id)}</td><td>${esc(i.description)}${i.status === 'VIOLATED' ? `<br>granted by ${esc(i.rule!.rule)} (${esc(i.rule!.at.file)}:${i.rule!.at.line}); counterexample: <code>${esc(JSON.stringify(i.counterexample))}</code>` : i.why ? `<br><small>${esc(i.why)}</small>` : ''}</td><td>${esc(i.at.file)}:${i.at.line}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fleetguard policy report ${esc(report.revision)}</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 80rem; padding: 0 1rem; color: #1b1f24; }
  h1 { margin-bottom: 0; } .revision { color: #57606a; margin-top: .25rem; }
  table { border-collapse: collapse; margin: .5rem 0 1.5rem; width: 100%; }
  th, td { border: 1px solid #d0d7de; padding: .35rem .5rem; vertical-align: top; text-align: left; }
  .matrix td { font-size: 12px; max-width: 14rem; }
  td.allow { background: #dafbe1; } td.deny { background: #f6f8fa; color: #6e7781; } td.conditional { background: #fff8c5; }
  .tag { font-weight: 600; display: block; }
  tr.proved .status { color: #1a7f37; font-weight: 700; } tr.violated .status { color: #cf222e; font-weight: 700; } tr.unknown .status { color: #9a6700; font-weight: 700; }
  .rule { border-left: 4px solid #2da44e; padding: .25rem 1rem; margin: 1rem 0; } .rule.deny { border-color: #cf222e; }
  .effect { text-transform: uppercase; font-size: 12px; color: #57606a; } .source { color: #57606a; font-size: 13px; }
  pre.condition { background: #f6f8fa; padding: .5rem; overflow-x: auto; }
  .badge { background: #cf222e; color: #fff; border-radius: 1em; padding: 0 .5em; font-size: 12px; font-weight: 600; white-space: nowrap; }
  table.usage td, table.usage th { vertical-align: middle; } table.usage td.count { text-align: right; } table.usage th[scope="row"] { white-space: nowrap; }
  tr.unused { background: #ffebe9; } tr.unused th a { color: #a40e26; }
  .usage-chart rect.some { fill: #2da44e; } .usage-chart rect.none { fill: #d0d7de; }
</style>
</head>
<body>
<header>
  <h1>Fleetguard policy report</h1>
  <p class="revision">Policy revision <code id="revision">${esc(report.revision)}</code> · ${report.rules.length} rules · invariants: ${esc(summary)}</p>
</header>
<main>
  <section id="invariants">
    <h2>Invariants</h2>
    <table><thead><tr><th>result</th><th>invariant</th><th>what it says</th><th>source</th></tr></thead><tbody>${invariants}</tbody></table>
  </section>
  <section id="matrix">
    <h2>Permission matrix</h2>
    <p>For each principal type: what it may do on each resource type. <em>allow</em>: always; <em>deny</em>: never; <em>conditional</em>: only when the condition holds, and never when an "unless" holds.</p>
${matrix}
  </section>
  <section id="rules">
    <h2>Rules</h2>
${rules}
  </section>${report.usage ? usageHtml(report.usage, report.rules.length) : ''}
</main>
</body>
</html>
`;
}

/** Text in a Markdown table cell: a line break would end the row, a pipe would end the cell. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

export function renderMarkdown(report: Report): string {
  const lines = [
    `# Fleetguard policy report`,
    '',
    `Policy revision \`${report.revision}\`, ${report.rules.length} rules.`,
    '',
    '## Invariants',
    '',
    '| result | invariant | what it says | source |',
    '|---|---|---|---|',
  ];
  for (const i of report.invariants) {
    const extra =
      i.status === 'VIOLATED'
        ? ` Granted by ${i.rule!.rule} (${i.rule!.at.file}:${i.rule!.at.line}); counterexample: \`${JSON.stringify(i.counterexample)}\``
        : '';
    lines.push(`| **${i.status}** | ${i.id} | ${cell(i.description + extra)} | ${i.at.file}:${i.at.line} |`);
  }
  lines.push('', '## Permission matrix', '');
  for (const m of report.matrix) {
    lines.push(
      `### ${m.principal}`,
      '',
      `| resource type | ${report.actions.join(' | ')} |`,
      `|---|${report.actions.map(() => '---').join('|')}|`,
    );
    for (const row of m.rows)
      lines.push(`| ${row.resource} | ${row.cells.map((c) => cellText(c).replace(/\|/g, '\\|')).join(' | ')} |`);
    lines.push('');
  }
  lines.push('## Rules', '');
  for (const r of report.rules) {
    lines.push(
      `### ${r.effect}: ${r.id}`,
      '',
      r.description,
      '',
      `${r.principal} may${r.effect === 'deny' ? ' not' : ''} ${r.actions.join(', ')} on ${r.resources.join(', ')}${r.conditionInWords ? ` when ${r.conditionInWords}` : ', always'}.`,
      '',
    );
    if (r.condition) lines.push('```', r.condition, '```', '');
    lines.push(`Source: ${r.at.file}:${r.at.line}`, '');
  }
  const u = report.usage;
  if (u) {
    lines.push(
      '## Usage',
      '',
      usageIntro(u, report.rules.length),
      '',
      '| rule | matches | over time | last matched | what it suggests |',
      '|---|---|---|---|---|',
    );
    for (const r of u.rules)
      lines.push(
        `| ${r.matches === 0 ? `**${r.id}** (never matched)` : r.id} | ${r.matches} | \`${usageSparkline(r.series)}\` | ${when(r.lastMatched)} | ${cell(VERDICT[r.verdict])} |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}
