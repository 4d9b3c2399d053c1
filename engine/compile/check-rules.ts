// Stage: every rule of every policy file resolved against the schema, its conditions typed and compiled.
import { diagnostic, didYouMean, type Diagnostic } from '../diagnostics.js';
import { conjunction, type EntityTypeDef, type IR } from '../lang/ir.js';
import { positionOf, type YamlSource } from '../load/yaml-source.js';
import type { PolicyFile } from '../schema/policy-file.js';
import type { CompiledRule, Schema } from '../types.js';
import { compileCondition } from './compile-condition.js';
import { expandSelector, resolveConditions, type ConditionCache } from './resolve.js';

export function checkRules(
  policies: { source: YamlSource; file: PolicyFile }[],
  schema: Schema,
): { rules: CompiledRule[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const rules: CompiledRule[] = [];
  const seen = new Map<string, string>();
  const cache: ConditionCache = new Map();
  /** Rules with the same conditions in the same scope share one conjunction, hence one function. */
  const conjunctions = new Map<string, IR>();
  const resourceNames = [...schema.resources.keys()];
  const principalNames = [...schema.principals.keys()];

  for (const { source, file } of policies) {
    file.rules.forEach((rule, i) => {
      const path = ['rules', i];
      const at = positionOf(source, path);
      const previous = seen.get(rule.id);
      if (previous) {
        diagnostics.push(
          diagnostic(
            'duplicate-rule-id',
            positionOf(source, [...path, 'id']),
            `rule id \`${rule.id}\` is already used at ${previous}`,
          ),
        );
      }
      seen.set(rule.id, `${at.file}:${at.line}:${at.col}`);

      const principal = schema.principals.get(rule.principal);
      if (!principal) {
        diagnostics.push(
          diagnostic(
            'unknown-principal-type',
            positionOf(source, [...path, 'principal']),
            `unknown principal type \`${rule.principal}\``,
            didYouMean(rule.principal, principalNames),
          ),
        );
        return;
      }
      const actions = expandSelector(rule.actions, schema.actions, 'action', source, [...path, 'actions'], diagnostics);
      const resources = expandSelector(
        rule.resources,
        resourceNames,
        'resource type',
        source,
        [...path, 'resources'],
        diagnostics,
      );
      const resourceTypes = resources
        .map((r) => schema.resources.get(r))
        .filter((r): r is EntityTypeDef => r !== undefined);
      const scope = { principals: [principal], resources: resourceTypes, context: schema.context };
      const conditions = resolveConditions(rule.when, scope, source, [...path, 'when'], diagnostics, cache);
      if (!conditions) return;
      const conjunctionKey = `${rule.principal}|${resources.join(',')}|${conditions.map((c) => c.source).join('\u0000')}`;
      let ir = conjunctions.get(conjunctionKey);
      if (!ir) conjunctions.set(conjunctionKey, (ir = conjunction(conditions.map((c) => c.ir))));
      rules.push({
        ref: Object.freeze({ policy: source.file, rule: rule.id, effect: rule.effect }),
        id: rule.id,
        description: rule.description,
        effect: rule.effect,
        principal: rule.principal,
        actions,
        resources,
        at,
        conditions,
        ir,
        test: compileCondition(ir),
      });
    });
  }
  return { rules, diagnostics };
}
