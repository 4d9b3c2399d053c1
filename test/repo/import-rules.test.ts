// Which folder may import which: the engine is pure and knows no edge, the server knows no CLI, the client no
// server code, and nothing that ships loads the benchmarks or the tests. Read from the sources, so a plain
// `vitest run` checks it without a build. Outside engine/, the engine is used through its public entries only,
// and engine's folders import one another in one direction (no loop).
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

/** What may be imported of the engine from outside it. Tests and benchmarks may reach any part they check. */
const ENGINE_ENTRIES: { pattern: RegExp; why: string }[] = [
  { pattern: /^engine\/index\.ts$/, why: 'the engine: load, compile, decide, explain, plan' },
  { pattern: /^engine\/[a-z-]+\/index\.ts$/, why: "a tool's own entry (verify, diff, docs, testing, load …)" },
  { pattern: /^engine\/decision-id\.ts$/, why: "a sidecar client's decision ids, without the compiler" },
];
const OUTSIDE_ENGINE = ['server/', 'cli/', 'client/', 'api/', 'examples/'];

/** A file's place in engine's folder graph: its folder, or itself for the files at engine's root. */
function engineNode(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? `${parts[1]}/` : parts[1]!;
}

/** The groups of engine's folders that import one another in a loop (at run time), with one import of each step. */
function folderLoops(all: ImportEdge[]): string[][] {
  const graph = new Map<string, Map<string, ImportEdge>>();
  for (const e of all) {
    if (e.typeOnly || !e.from.startsWith('engine/') || !e.to.startsWith('engine/')) continue;
    const [a, b] = [engineNode(e.from), engineNode(e.to)];
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Map());
    if (!graph.get(a)!.has(b)) graph.get(a)!.set(b, e);
  }
  // Tarjan's strongly connected components: a component of more than one node holds a loop.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const loops: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do component.push((w = stack.pop()!));
      while (w !== v);
      if (component.length > 1) {
        const inside = new Set(component);
        loops.push(
          [...graph.entries()]
            .filter(([a]) => inside.has(a))
            .flatMap(([, out]) => [...out.entries()].filter(([b]) => inside.has(b)).map(([, e]) => describeEdge(e)))
            .sort(),
        );
      }
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return loops;
}

describe("the engine's surface", () => {
  const outside = [...edges, ...sourceFiles(['examples']).flatMap(importsOf)].filter(
    (e) => under(OUTSIDE_ENGINE, e.from) && e.to.startsWith('engine/'),
  );

  it("outside engine/, only its public entries are imported (engine/index.ts, a tool's index.ts)", () => {
    expect(outside.length).toBeGreaterThan(20);
    expect(outside.filter((e) => !ENGINE_ENTRIES.some((p) => p.pattern.test(e.to))).map(describeEdge)).toEqual([]);
  });

  it("engine's folders import one another in no loop", () => {
    expect(folderLoops(edges)).toEqual([]);
  });

  it('finds a loop between folders, and only at run time', () => {
    const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({
      from,
      to,
      specifier: to,
      line: 1,
      typeOnly,
      dynamic: false,
    });
    const loop = [
      edge('engine/lang/a.ts', 'engine/compile/b.ts'),
      edge('engine/compile/b.ts', 'engine/load/c.ts'),
      edge('engine/load/c.ts', 'engine/lang/d.ts'),
      edge('engine/decide/e.ts', 'engine/lang/a.ts'),
    ];
    expect(folderLoops(loop)).toEqual([
      [
        'engine/compile/b.ts:1 imports engine/load/c.ts (engine/load/c.ts)',
        'engine/lang/a.ts:1 imports engine/compile/b.ts (engine/compile/b.ts)',
        'engine/load/c.ts:1 imports engine/lang/d.ts (engine/lang/d.ts)',
      ],
    ]);
    expect(folderLoops([...loop.slice(0, 2), edge('engine/load/c.ts', 'engine/lang/d.ts', true)])).toEqual([]);
  });
});
