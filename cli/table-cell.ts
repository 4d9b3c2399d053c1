// Text from the decision log as one cell of a table printed to a terminal: ids are chosen by callers, and a
// newline, a carriage return, an escape sequence or a right-to-left override in one would forge rows or columns.

/** No whitespace, quote, backslash, control, format, private-use, unassigned or separator character. */
const PLAIN = /^[^\s"\\\p{C}\p{Z}]+$/u;
const ESCAPED = /["\\]|[^\S ]|[\p{C}\p{Z}]/gu;
const NAMED: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', ' ': ' ' };

/**
 * Plain text as it is; anything else in double quotes with `"`, `\` and every invisible or control character
 * escaped as JSON escapes them (`\n`, `\u202e`, astral ones as a surrogate pair), so `JSON.parse` reads it back.
 */
export function tableCell(text: string): string {
  if (PLAIN.test(text)) return text;
  return `"${text.replace(ESCAPED, (c) => NAMED[c] ?? unicodeEscape(c))}"`;
}

function unicodeEscape(c: string): string {
  let escaped = '';
  for (let i = 0; i < c.length; i++) escaped += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return escaped;
}

/** A header and rows of raw text as aligned lines: every cell through `tableCell`, columns two spaces apart. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = rows.map((row) => row.map(tableCell));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)];
}
