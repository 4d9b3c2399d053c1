// Which folder may import which: the engine is pure and knows no edge, the server knows no CLI, the client no
// server code, and nothing that ships loads the benchmarks or the tests. Read from the sources, so a plain
// `vitest run` checks it without a build.
import { describe, expect, it } from 'vitest';
import { describeEdge, type ImportEdge, importsOf, sourceFiles } from '../support/imports.js';

/** The folders the package ships (or builds what ships from). */
const SHIPPED = ['engine/', 'server/', 'cli/', 'client/', 'api/'];

interface Rule {
  from: string[];
  to: string[];
  /** Type-only imports are erased by TypeScript: allowed when the rule is about what runs. */
  runtimeOnly: boolean;
  why: string;
}

const RULES: Rule[] = [
  {
    from: ['engine/'],
    to: ['server/', 'cli/', 'client/', 'api/'],
    runtimeOnly: false,
    why: 'the engine is pure: the edges call it, never the reverse',
  },
  { from: ['server/'], to: ['cli/'], runtimeOnly: false, why: 'the CLI is a thin layer over the server' },
  {
    from: ['client/'],
    to: ['server/'],
    runtimeOnly: true,
    why: 'a service loading the client loads no server code (shapes shared with the server live in api/)',
  },
  {
    from: SHIPPED,
    to: ['bench/', 'test/'],
    runtimeOnly: false,
    why: 'what ships never loads the benchmarks or the tests',
  },
];

const edges: ImportEdge[] = sourceFiles(SHIPPED.map((f) => f.slice(0, -1))).flatMap(importsOf);
const under = (prefixes: string[], file: string) => prefixes.some((p) => file.startsWith(p));

/** The imports breaking a rule, as `file:line imports specifier`. */
function breaking(rule: Rule, all: ImportEdge[]): string[] {
  return all
    .filter((e) => under(rule.from, e.from) && under(rule.to, e.to) && !(rule.runtimeOnly && e.typeOnly))
    .map(describeEdge);
}

describe('import direction', () => {
  it('reads the imports it is meant to read', () => {
    const of = (file: string) => edges.filter((e) => e.from === file);
    // a clause across several lines
    expect(of('cli/commands/serve.ts').map((e) => e.to)).toContain('server/main.ts');
    // `import type` is erased, a value import is not
    const types = of('client/types.ts').find((e) => e.to === 'api/authorize.ts');
    expect(types?.typeOnly).toBe(true);
    expect(of('client/http-backend.ts').find((e) => e.to === 'api/plans.ts')?.typeOnly).toBe(false);
    // `import('…')` loads a module; `import('…').Name` only names a type
    expect(of('cli/main.ts').find((e) => e.to === 'cli/commands/check.ts')).toMatchObject({
      dynamic: true,
      typeOnly: false,
    });
    expect(of('engine/decide/outcome.ts').find((e) => e.dynamic)?.typeOnly).toBe(true);
    expect(edges.length).toBeGreaterThan(300);
  });

  it('finds an import that breaks a rule', () => {
    const bad: ImportEdge = {
      from: 'engine/explain/explain.ts',
      to: 'server/app.ts',
      specifier: '../../server/app.js',
      line: 3,
      typeOnly: true,
      dynamic: false,
    };
    expect(breaking(RULES[0]!, [bad])).toEqual([
      'engine/explain/explain.ts:3 imports ../../server/app.js (server/app.ts)',
    ]);
    expect(breaking(RULES[2]!, [{ ...bad, from: 'client/client.ts' }])).toEqual([]);
    expect(breaking(RULES[2]!, [{ ...bad, from: 'client/client.ts', typeOnly: false }])).toHaveLength(1);
  });

  for (const rule of RULES) {
    it(`${rule.from.join(' ')} does not import ${rule.to.join(' ')}${rule.runtimeOnly ? ' at run time' : ''}: ${rule.why}`, () => {
      expect(breaking(rule, edges)).toEqual([]);
    });
  }
});
