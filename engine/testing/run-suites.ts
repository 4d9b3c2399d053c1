// Policy test suites as data (Cerbos-style): every test expands to principal × resource × action cases,
// each decided by the fast path and checked against the expectation and the invariants. Results are data;
// reporters render them.
import { authorize } from '../decide/authorize.js';
import { validateStructure } from '../load/validate-structure.js';
import { diagnostic, didYouMean, sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import { violations, type Violation } from '../invariants/check-request.js';
import { parseTime } from '../lang/values.js';
import { parseYaml, positionOf, type SourceFile } from '../load/yaml-source.js';
import { SuiteFile } from '../schema/suite-file.js';
import type { AuthorizeRequest, Decision, PolicySet, RuleRef, SourcePosition } from '../types.js';

export interface CaseResult {
  suite: string;
  test: string;
  at: SourcePosition;
  principal: string;
  resource: string;
  action: string;
  request: AuthorizeRequest;
  now: number;
  expected: 'allow' | 'deny';
  decision: Decision;
  violations: Violation[];
  passed: boolean;
}

export interface Coverage {
  total: number;
  covered: number;
  percent: number;
  uncovered: (RuleRef & { at: SourcePosition })[];
}

export interface SuiteRun {
  suites: { name: string; file: string }[];
  cases: CaseResult[];
  diagnostics: Diagnostic[];
  coverage: Coverage;
}

export function runSuites(set: PolicySet, files: SourceFile[], defaultNow: number): SuiteRun {
  const diagnostics: Diagnostic[] = [];
  const cases: CaseResult[] = [];
  const suites: { name: string; file: string }[] = [];
  const covered = new Set<RuleRef>();

  for (const file of files) {
    const parsed = parseYaml(file);
    diagnostics.push(...parsed.diagnostics);
    if (!parsed.source) continue;
    const source = parsed.source;
    const { value: suite, diagnostics: structural } = validateStructure(source, SuiteFile);
    diagnostics.push(...structural);
    if (!suite) continue;
    suites.push({ name: suite.name, file: file.path });
    const before = diagnostics.length;
    const problem = (
      path: (string | number)[],
      message: string,
      hint?: string,
      code: Diagnostic['code'] = 'unknown-reference',
    ) => diagnostics.push(diagnostic(code, positionOf(source, path), message, hint));

    for (const [group, types] of [
      ['principals', set.schema.principals],
      ['resources', set.schema.resources],
    ] as const) {
      for (const [name, entity] of Object.entries(suite[group])) {
        if (!types.has(entity.type)) {
          problem(
            [group, name, 'type'],
            `unknown ${group === 'principals' ? 'principal' : 'resource'} type \`${entity.type}\``,
            didYouMean(entity.type, types.keys()),
            group === 'principals' ? 'unknown-principal-type' : 'unknown-resource-type',
          );
        }
      }
    }
    const suiteNow = suite.now === undefined ? defaultNow : parseTime(suite.now);
    if (suiteNow === undefined)
      problem(
        ['now'],
        `\`now\` must be an RFC 3339 time, got ${JSON.stringify(suite.now)}`,
        undefined,
        'invalid-literal',
      );

    suite.tests.forEach((test, i) => {
      const path = ['tests', i];
      const principals = [test.principal].flat();
      const resources = [test.resource].flat();
      const ok = (names: string[], group: 'principals' | 'resources', key: string) =>
        names.every((n, j) => {
          if (suite[group][n]) return true;
          problem(
            [...path, key, ...(Array.isArray(test[key as 'principal']) ? [j] : [])],
            `no ${key} named \`${n}\` in this suite's ${group}`,
            didYouMean(n, Object.keys(suite[group])),
          );
          return false;
        });
      const known = ok(principals, 'principals', 'principal') && ok(resources, 'resources', 'resource');
      let context: Record<string, unknown> | undefined;
      if (typeof test.context === 'string') {
        context = suite.contexts[test.context];
        if (!context)
          problem(
            [...path, 'context'],
            `no context named \`${test.context}\` in this suite's contexts`,
            didYouMean(test.context, Object.keys(suite.contexts)),
          );
      } else {
        context = test.context;
      }
      for (const action of Object.keys(test.expect)) {
        if (!set.schema.actions.includes(action)) {
          problem(
            [...path, 'expect', action],
            `unknown action \`${action}\``,
            didYouMean(action, set.schema.actions),
            'unknown-action',
          );
        }
      }
      const now = test.now === undefined ? suiteNow : parseTime(test.now);
      if (now === undefined && test.now !== undefined)
        problem([...path, 'now'], '`now` must be an RFC 3339 time', undefined, 'invalid-literal');
      if (!known || diagnostics.length > before || now === undefined) return;

      const at = positionOf(source, path);
      for (const p of principals) {
        for (const r of resources) {
          for (const [action, expected] of Object.entries(test.expect)) {
            const req: AuthorizeRequest = {
              principal: suite.principals[p]!,
              action,
              resource: suite.resources[r]!,
              ...(context ? { context } : {}),
            };
            const decision = authorize(set, req, now, `${file.path}#${i}`);
            decision.matched.forEach((m) => covered.add(m));
            const broken = violations(set, req, decision, now);
            cases.push({
              suite: suite.name,
              test: test.name,
              at,
              principal: p,
              resource: r,
              action,
              request: req,
              now,
              expected,
              decision,
              violations: broken,
              passed: decision.decision === expected && broken.length === 0,
            });
          }
        }
      }
    });
  }

  const uncovered = set.rules.filter((r) => !covered.has(r.ref)).map((r) => ({ ...r.ref, at: r.at }));
  const total = set.rules.length;
  const percent = total === 0 ? 100 : Math.round(((total - uncovered.length) / total) * 1000) / 10;
  return {
    suites,
    cases,
    diagnostics: sortDiagnostics(diagnostics),
    coverage: { total, covered: total - uncovered.length, percent, uncovered },
  };
}
