// Errors in policies are data: collected, sorted by position, each with a stable code from one table.

export const DIAGNOSTIC_CODES = {
  'yaml-syntax': 'The file is not valid YAML.',
  'invalid-structure': 'A field is missing, misspelled or has the wrong shape.',
  'missing-schema': 'The policy directory has no schema.yaml.',
  'unknown-principal-type': 'A rule or test names a principal type the schema does not declare.',
  'unknown-resource-type': 'A rule or test names a resource type the schema does not declare.',
  'unknown-action': 'A rule or test names an action the schema does not declare.',
  'duplicate-rule-id': 'Two rules in the same policy set share an id.',
  'duplicate-invariant-id': 'Two invariants share an id.',
  'condition-syntax': 'A condition cannot be parsed.',
  'unknown-attribute': 'A condition reads an attribute the schema does not declare for that type.',
  'type-mismatch': 'An operator is applied to values of the wrong type.',
  'invalid-literal':
    'A literal cannot be read as the type it is compared with (time, ip, cidr), or a number is too large to represent.',
  'unknown-reference': 'A test refers to a principal, resource or context it does not define.',
  'invalid-entity':
    'An entity does not match the schema: unknown type or attribute, a value of the wrong type, a required attribute missing.',
  'io-error': 'A file could not be read.',
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

export interface Diagnostic extends SourcePosition {
  code: DiagnosticCode;
  message: string;
  hint?: string;
}

export function diagnostic(code: DiagnosticCode, at: SourcePosition, message: string, hint?: string): Diagnostic {
  return hint === undefined ? { code, ...at, message } : { code, ...at, message, hint };
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.message.localeCompare(b.message),
  );
}

/** `file:line:col: message (code)` — the line format every command prints. */
export function formatDiagnostic(d: Diagnostic): string {
  const hint = d.hint ? `\n  hint: ${d.hint}` : '';
  return `${d.file}:${d.line}:${d.col}: ${d.message} [${d.code}]${hint}`;
}

export class PolicyError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(sortDiagnostics(diagnostics).map(formatDiagnostic).join('\n'));
    this.name = 'PolicyError';
  }
}

/** Closest candidate by edit distance, for "did you mean" hints. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(word, candidates);
  return s === undefined ? undefined : `did you mean \`${s}\`?`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
