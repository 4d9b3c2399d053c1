// YAML with positions: every value can be traced back to file:line:col (the yaml package's LineCounter).
import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document, type Node } from 'yaml';
import { diagnostic, type Diagnostic, type SourcePosition } from '../diagnostics.js';

export interface SourceFile {
  /** Path relative to the policy directory, with forward slashes: the name in every diagnostic and decision. */
  path: string;
  text: string;
}

export interface YamlSource {
  file: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
  value: unknown;
}

export type PathSegment = string | number;

export function parseYaml(file: SourceFile): { source?: YamlSource; diagnostics: Diagnostic[] } {
  const lines = new LineCounter();
  const doc = parseDocument(file.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const diagnostics = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return diagnostic(
      'yaml-syntax',
      { file: file.path, line: pos.line, col: pos.col },
      e.message.split('\n')[0] ?? e.message,
    );
  });
  if (diagnostics.length > 0) return { diagnostics };
  return { source: { file: file.path, text: file.text, doc, lines, value: doc.toJS() }, diagnostics };
}

export function positionAt(source: YamlSource, offset: number): SourcePosition {
  const { line, col } = source.lines.linePos(offset);
  return { file: source.file, line, col };
}

/** The node at `path`, or the deepest ancestor that exists (a missing field points at its parent). */
export function nodeAt(source: YamlSource, path: readonly PathSegment[], wantKey = false): Node | undefined {
  let node: unknown = source.doc.contents;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) return node;
      if (wantKey && i === path.length - 1 && isScalar(pair.key)) return pair.key;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return node;
      node = item;
    } else {
      break;
    }
  }
  return (node as Node | null) ?? undefined;
}

export function positionOf(source: YamlSource, path: readonly PathSegment[], wantKey = false): SourcePosition {
  const node = nodeAt(source, path, wantKey);
  const offset = node?.range?.[0] ?? 0;
  return positionAt(source, offset);
}

/**
 * Position of character `offset` inside the string scalar at `path`, so a condition error points at the
 * offending token. Plain and quoted scalars map exactly (escapes aside); block scalars map line by line.
 */
export function positionInScalar(source: YamlSource, path: readonly PathSegment[], offset: number): SourcePosition {
  const node = nodeAt(source, path);
  if (!isScalar(node) || !node.range || typeof node.value !== 'string') return positionOf(source, path);
  const start = node.range[0];
  switch (node.type) {
    case Scalar.QUOTE_DOUBLE:
    case Scalar.QUOTE_SINGLE:
      if (!node.value.includes('\n')) return positionAt(source, start + 1 + offset);
      return positionAt(source, start);
    case Scalar.BLOCK_LITERAL:
    case Scalar.BLOCK_FOLDED: {
      const before = node.value.slice(0, offset);
      const lineIndex = before.split('\n').length - 1;
      const colInLine = offset - (before.lastIndexOf('\n') + 1);
      const header = source.lines.linePos(start);
      const contentLine = header.line + 1 + lineIndex;
      // The block's indentation is that of its first content line; deeper lines keep their extra spaces.
      const firstStart = source.lines.lineStarts[header.line];
      if (firstStart === undefined) return positionAt(source, start);
      const first = source.text.slice(firstStart, source.text.indexOf('\n', firstStart) >>> 0);
      const indent = first.length - first.trimStart().length;
      return { file: source.file, line: contentLine, col: indent + colInLine + 1 };
    }
    default:
      if (!node.value.includes('\n')) return positionAt(source, start + offset);
      return positionAt(source, start);
  }
}
