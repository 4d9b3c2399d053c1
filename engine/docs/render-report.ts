// The report rendered for people: one self-contained HTML page (no scripts, no external assets) and the
// same content as Markdown.
import type { Cell, Report } from './report.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function cellText(c: Cell): string {
  if (c.kind !== 'conditional') return c.kind;
  const allow = c.allowIf.length === 1 ? c.allowIf[0]! : c.allowIf.map((x) => `(${x})`).join(' or ');
  return `if ${allow}${c.unless.length ? `; unless ${c.unless.join(' or ')}` : ''}`;
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
  const rules = report.rules
    .map(
      (r) => `
    <article class="rule ${r.effect}" id="rule-${esc(r.id)}">
      <h3><span class="effect">${esc(r.effect)}</span> ${esc(r.id)}</h3>
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
  </section>
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
  return lines.join('\n');
}
