// The repository's import graph, read from the sources: which module imports which, and whether the import
// survives compilation. A small scanner rather than the TypeScript compiler API, which TypeScript 7 lacks.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_DIR } from './policies.js';

export interface ImportEdge {
  /** The importing file, relative to the repository, with `/` separators. */
  from: string;
  /** The imported file, relative to the repository (`.ts` in place of the `.js` of the specifier). */
  to: string;
  /** As written in the source. */
  specifier: string;
  /** 1-based line of the import in `from`. */
  line: number;
  /** `import type`, `export type`, or braces whose every name is marked `type`: erased by TypeScript. */
  typeOnly: boolean;
  /** `import('…')`: loaded when reached, not when the importer loads. */
  dynamic: boolean;
}

// `import … from '…'`, `export … from '…'` (the clause across lines, names, braces, `*`, `as` and `type`
// only, so `export const x = …` never starts a match) and bare `import '…'`.
const STATIC = /^[ \t]*(import|export)(\s+type)?(\s[\w\s{},*$]*?\s*from)?\s*['"]([^'"\n]+)['"]/gm;
// `import('…')`; followed by `.Name` it is a type (`import('./types.js').Decision`), erased like `import type`.
const DYNAMIC = /\bimport\(\s*['"]([^'"\n]+)['"]\s*\)(\.(?!then\b|catch\b|finally\b)[A-Za-z_$])?/g;

/** Braces whose every name says `type` (`import { type A, type B } from`) are erased like `import type`. */
function everyNameIsType(clause: string): boolean {
  const braces = /^\s*\{([\s\S]*)\}\s*from$/.exec(clause);
  if (!braces) return false;
  const names = braces[1]!
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return names.length > 0 && names.every((n) => n.startsWith('type '));
}

const rel = (file: string) => relative(REPO_DIR, file).split('\\').join('/');

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The imports of one file of the repository (path relative to it) that name a file of the repository. */
export function importsOf(file: string): ImportEdge[] {
  const path = join(REPO_DIR, file);
  const text = readFileSync(path, 'utf8');
  const edges: ImportEdge[] = [];
  const add = (specifier: string, index: number, typeOnly: boolean, dynamic: boolean) => {
    if (!specifier.startsWith('.')) return;
    const target = resolveModule(resolve(dirname(path), specifier));
    if (target === undefined) return;
    edges.push({ from: file, to: rel(target), specifier, line: lineAt(text, index), typeOnly, dynamic });
  };
  for (const m of text.matchAll(STATIC)) {
    const typeOnly = m[2] !== undefined || (m[3] !== undefined && everyNameIsType(m[3]));
    add(m[4]!, m.index, typeOnly, false);
  }
  for (const m of text.matchAll(DYNAMIC)) add(m[1]!, m.index, m[2] !== undefined, true);
  return edges;
}

/** The source a specifier names: `x.js` is compiled from `x.ts`; `.mjs` and `.json` are taken as they are. */
function resolveModule(path: string): string | undefined {
  for (const candidate of [path.replace(/\.js$/, '.ts'), path, `${path}.ts`, join(path, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Every `.ts`, `.mts` and `.mjs` file under the given folders of the repository, relative to it. */
export function sourceFiles(folders: string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|mts|mjs)$/.test(entry.name)) found.push(rel(full));
    }
  };
  for (const folder of folders) if (existsSync(join(REPO_DIR, folder))) walk(join(REPO_DIR, folder));
  return found.sort();
}

/** `file:line imports specifier`, for failure messages that point at the line to change. */
export const describeEdge = (e: ImportEdge) => `${e.from}:${e.line} imports ${e.specifier} (${e.to})`;
