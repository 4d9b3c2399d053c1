// Shared by the rule and invariant stages: names resolved against the schema, conditions parsed and typed.
import { diagnostic, didYouMean, type Diagnostic, type DiagnosticCode } from '../diagnostics.js';
import { checkCondition, type Scope } from '../lang/check-condition.js';
import type { IR } from '../lang/ir.js';
import { parseCondition } from '../lang/parse-condition.js';
import { positionInScalar, positionOf, type PathSegment, type YamlSource } from '../load/yaml-source.js';
import type { Condition, Selector } from '../schema/common.js';
import type { ConditionPart } from '../types.js';
import { compileCondition } from './compile-condition.js';

const UNKNOWN_CODE: Record<string, DiagnosticCode> = {
  action: 'unknown-action',
  'principal type': 'unknown-principal-type',
  'resource type': 'unknown-resource-type',
};

/** Expands `*`, a list or `{ except }` against the declared names; unknown names are diagnostics. */
export function expandSelector(
  selector: Selector,
  universe: readonly string[],
  what: 'action' | 'principal type' | 'resource type',
  source: YamlSource,
  path: PathSegment[],
  diagnostics: Diagnostic[],
): string[] {
  const check = (names: readonly string[], base: PathSegment[]) =>
    names.forEach((name, i) => {
      if (name !== '*' && !universe.includes(name)) {
        diagnostics.push(
          diagnostic(
            UNKNOWN_CODE[what]!,
            positionOf(source, [...base, i]),
            `unknown ${what} \`${name}\``,
            didYouMean(name, universe),
          ),
        );
      }
    });
  if (selector === '*') return [...universe];
  if (Array.isArray(selector)) {
    check(selector, path);
    return selector.includes('*') ? [...universe] : [...new Set(selector.filter((n) => universe.includes(n)))];
  }
  check(selector.except, [...path, 'except']);
  return universe.filter((n) => !selector.except.includes(n));
}

/**
 * Checked conditions by text and scope, within one compile: policy sets repeat conditions (every
 * fleet-role rule reads `resource.fleet in principal.…Of`), and equal IR objects also share their
 * compiled function.
 */
export type ConditionCache = Map<string, IR>;

const scopeKey = (scope: Scope) =>
  `${scope.principals.map((p) => p.name).join(',')}|${scope.resources.map((r) => r.name).join(',')}`;

/** Parses and type-checks each entry of a `when` list; errors point at the offending token. */
export function resolveConditions(
  condition: Condition | undefined,
  scope: Scope,
  source: YamlSource,
  path: PathSegment[],
  diagnostics: Diagnostic[],
  cache?: ConditionCache,
): ConditionPart[] | undefined {
  if (condition === undefined) return [];
  const entries =
    typeof condition === 'string'
      ? [{ text: condition, path }]
      : condition.map((text, i) => ({ text, path: [...path, i] }));
  const parts: ConditionPart[] = [];
  let ok = true;
  for (const { text, path: at } of entries) {
    const key = cache && `${scopeKey(scope)}\u0000${text}`;
    let ir = key === undefined ? undefined : cache!.get(key);
    if (!ir) {
      ir = resolveCondition(text, scope, source, at, diagnostics);
      if (ir && key !== undefined) cache!.set(key, ir);
    }
    if (!ir) {
      ok = false;
      continue;
    }
    parts.push({ source: text, at: positionOf(source, at), ir, test: compileCondition(ir) });
  }
  return ok ? parts : undefined;
}

export function resolveCondition(
  text: string,
  scope: Scope,
  source: YamlSource,
  path: PathSegment[],
  diagnostics: Diagnostic[],
): IR | undefined {
  const parsed = parseCondition(text);
  if ('error' in parsed) {
    diagnostics.push(
      diagnostic('condition-syntax', positionInScalar(source, path, parsed.error.offset), parsed.error.message),
    );
    return undefined;
  }
  const checked = checkCondition(parsed.expr, scope);
  if ('error' in checked) {
    const e = checked.error;
    diagnostics.push(diagnostic(e.code, positionInScalar(source, path, e.span.start), e.message, e.hint));
    return undefined;
  }
  return checked.ir;
}
