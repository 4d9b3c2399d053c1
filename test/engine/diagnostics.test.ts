// Every policy error carries a stable code, file, line and column, and every error is reported at once.
import { describe, expect, it } from 'vitest';
import { compilePolicies, type Diagnostic } from '../../engine/index.js';

const SCHEMA = `actions: [read, update]
context:
  time: time
principals:
  device: { attributes: { fleet: string } }
resources:
  release: { attributes: { fleet: string, created: time } }
`;

function compile(files: Record<string, string>): Diagnostic[] {
  const sources = Object.entries({ 'schema.yaml': SCHEMA, ...files }).map(([path, text]) => ({ path, text }));
  const { policySet, diagnostics } = compilePolicies(sources);
  if (diagnostics.length === 0) expect(policySet).toBeDefined();
  else expect(policySet).toBeUndefined();
  return diagnostics;
}

const rule = (when: string, extra = '') => `rules:
  - id: r1
    description: test rule
    effect: allow
    principal: device
    actions: [read]
    resources: [release]
    when: ${when}
${extra}`;

describe('policy diagnostics', () => {
  it('accepts a valid policy', () => {
    expect(compile({ 'p.yaml': rule('resource.fleet == principal.fleet') })).toEqual([]);
  });

  it('explains a malformed condition', () => {
    const [d] = compile({ 'p.yaml': rule('{ a: 1 }') });
    expect(d).toMatchObject({ code: 'invalid-structure', line: 8, col: 11 });
    expect(d!.message).toContain('a condition is text');
  });

  it('rejects a typo in an attribute name with file:line:col and a suggestion', () => {
    const [d, ...rest] = compile({ 'p.yaml': rule('resource.fleeet == principal.fleet') });
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      code: 'unknown-attribute',
      file: 'p.yaml',
      line: 8,
      col: 11,
      hint: 'did you mean `fleet`?',
    });
    expect(d!.message).toContain('fleeet');
  });

  it('points into the condition at the offending token', () => {
    const [d] = compile({ 'p.yaml': rule('resource.fleet == principal.flet') });
    expect(d).toMatchObject({ code: 'unknown-attribute', line: 8, col: 29, hint: 'did you mean `fleet`?' });
  });

  it('maps positions inside quoted and block conditions', () => {
    const [quoted] = compile({ 'p.yaml': rule('"resource.fleet == principal.flet"') });
    expect(quoted).toMatchObject({ line: 8, col: 30 });
    const [block] = compile({
      'p.yaml': rule('|\n      resource.fleet == principal.fleet and\n        resource.nope == "x"'),
    });
    expect(block).toMatchObject({ code: 'unknown-attribute', line: 10, col: 9 });
  });

  it('reports a syntax error where it happens', () => {
    const [d] = compile({ 'p.yaml': rule('resource.fleet = principal.fleet') });
    expect(d).toMatchObject({ code: 'condition-syntax', line: 8, col: 26 });
    expect(d!.message).toContain('==');
  });

  it('rejects operators applied to the wrong types', () => {
    expect(compile({ 'p.yaml': rule('resource.fleet < principal.fleet') })[0]).toMatchObject({
      code: 'type-mismatch',
      line: 8,
    });
    expect(compile({ 'p.yaml': rule('resource.fleet') })[0]).toMatchObject({ code: 'type-mismatch' });
    expect(compile({ 'p.yaml': rule('resource.created < "yesterday"') })[0]).toMatchObject({
      code: 'invalid-literal',
      col: 30,
    });
    expect(compile({ 'p.yaml': rule('resource.created < "2026-01-01T00:00:00Z"') })).toEqual([]);
  });

  it('rejects a number literal too large to represent, wherever it stands, at its position', () => {
    // 400 digits read as Infinity, which generated code would have written as `null`.
    const huge = '9'.repeat(400);
    const schema = SCHEMA.replace('created: time', 'created: time, size: number');
    const cases: [string, number][] = [
      [`${huge} > 0`, 11],
      [`resource.size < ${huge}`, 27],
      [`resource.size in [1, -${huge}]`, 32],
      [`-${huge} in [1, 2]`, 11],
    ];
    for (const [when, col] of cases) {
      const sources = [
        { path: 'schema.yaml', text: schema },
        { path: 'p.yaml', text: rule(`"${when}"`) },
      ];
      const { policySet, diagnostics } = compilePolicies(sources);
      expect(policySet).toBeUndefined();
      expect(diagnostics).toHaveLength(1);
      expect(diagnostics[0]).toMatchObject({ code: 'invalid-literal', file: 'p.yaml', line: 8, col: col + 1 });
      expect(diagnostics[0]!.message).toContain('too large');
    }
    expect(compile({ 'p.yaml': rule(`"${'9'.repeat(300)} > 0"`) })).toEqual([]);
  });

  it('rejects unknown actions, types and fields with suggestions', () => {
    const text = `rules:
  - id: r1
    description: d
    efect: allow
    principal: devise
    actions: [read, reed]
    resources: [releases]
`;
    const ds = compile({ 'p.yaml': text });
    expect(ds.map((d) => [d.code, d.line, d.col, d.hint])).toEqual([
      ['invalid-structure', 2, 5, undefined],
      ['invalid-structure', 4, 5, 'did you mean `effect`?'],
    ]);
    const fixed = text.replace('efect', 'effect');
    expect(compile({ 'p.yaml': fixed }).map((d) => [d.code, d.line, d.col, d.hint])).toEqual([
      ['unknown-principal-type', 5, 16, 'did you mean `device`?'],
    ]);
    const fixedPrincipal = fixed.replace('devise', 'device');
    expect(compile({ 'p.yaml': fixedPrincipal }).map((d) => [d.code, d.line, d.col, d.hint])).toEqual([
      ['unknown-action', 6, 21, 'did you mean `read`?'],
      ['unknown-resource-type', 7, 17, 'did you mean `release`?'],
    ]);
  });

  it('looks inside unions: a misspelled `except` is named, with a suggestion', () => {
    const text = rule('true').replace('actions: [read]', 'actions: { excpt: [read] }');
    const ds = compile({ 'p.yaml': text });
    expect(ds.find((d) => d.message.includes('unknown field `excpt`'))).toMatchObject({
      code: 'invalid-structure',
      line: 6,
      hint: 'did you mean `except`?',
    });
  });

  it('reports every error in every file, sorted by position', () => {
    const second = rule('resource.z == "2"').replace('rules:\n', '').replace('id: r1', 'id: r2');
    const ds = compile({
      'b.yaml': rule('resource.x == principal.fleet').replace('id: r1', 'id: r3'),
      'a.yaml': rule('principal.y == "1"') + second,
    });
    expect(ds.map((d) => `${d.file}:${d.line}`)).toEqual(['a.yaml:8', 'a.yaml:15', 'b.yaml:8']);
  });

  it('rejects duplicate rule ids across files', () => {
    const ds = compile({ 'a.yaml': rule('true'), 'b.yaml': rule('false') });
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ code: 'duplicate-rule-id', file: 'b.yaml', line: 2 });
  });

  it('reports YAML syntax errors and a missing schema', () => {
    expect(compile({ 'p.yaml': 'rules:\n  - id: [unclosed\n' })[0]).toMatchObject({
      code: 'yaml-syntax',
      file: 'p.yaml',
    });
    const { diagnostics } = compilePolicies([{ path: 'p.yaml', text: rule('resource.fleet == principal.fleet') }]);
    expect(diagnostics.map((d) => d.code)).toEqual(['missing-schema']);
  });
});
