// The client is a package export that pulls in no server code: no module reached from client/ (through
// static or dynamic imports, transitively) lies under server/; type-only imports are erased and allowed.
// A sidecar client loads the engine's zod schemas and nothing else of it (the compiler only when embedded).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_DIR } from '../support/policies.js';

/** The repository modules `file` loads at run time, statically (`import … from`, `export … from`) or through `import()`. */
function imports(file: string): { static: string[]; dynamic: string[] } {
  const text = readFileSync(file, 'utf8');
  const local = (specifiers: string[]) =>
    specifiers
      .filter((s) => s.startsWith('.'))
      .map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')))
      .filter((f) => existsSync(f));
  const statements = [...text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'"]*?\s*from\s*['"]([^'"]+)['"]/gm)]
    .filter((m) => !m[1]) // `import type` and `export type` are erased
    .map((m) => m[2]!);
  const bare = [...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
  const dynamic = [...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return { static: local([...statements, ...bare]), dynamic: local(dynamic) };
}

/** Every repository module the entries reach, themselves included, following `follow`. */
function closure(entries: string[], follow: (file: string) => string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...follow(f));
  }
  return seen;
}
const everything = (file: string) => {
  const i = imports(file);
  return [...i.static, ...i.dynamic];
};

const rel = (f: string) => relative(REPO_DIR, f).split('\\').join('/');
const CLIENT = join(REPO_DIR, 'client');
const clientFiles = readdirSync(CLIENT)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(CLIENT, f));

describe('import direction', () => {
  it('finds the imports it is meant to find', () => {
    const reached = [...closure([join(CLIENT, 'client.ts')], everything)].map(rel);
    expect(reached).toContain('client/http-transport.ts');
    expect(reached).toContain('api/authorize.ts');
    // the dynamic import of the embedded backend, and through it the engine
    expect(reached).toContain('client/embedded-backend.ts');
    expect(reached).toContain('engine/index.ts');
  });

  it('no module of client/ reaches server/ at run time', () => {
    const reached = [...closure(clientFiles, everything)].map(rel);
    expect(reached.filter((f) => f.startsWith('server/'))).toEqual([]);
  });

  it('a sidecar client loads nothing of the engine but its schemas and decision ids', () => {
    const reached = [...closure([join(CLIENT, 'client.ts')], (f) => imports(f).static)].map(rel);
    expect(reached).not.toContain('client/embedded-backend.ts');
    expect(reached.filter((f) => f.startsWith('engine/'))).toEqual(
      expect.arrayContaining(['engine/schema/request.ts']),
    );
    expect(
      reached.filter(
        (f) => f.startsWith('engine/') && !f.startsWith('engine/schema/') && f !== 'engine/decision-id.ts',
      ),
    ).toEqual([]);
  });
});
