// Stage: invariants.yaml resolved like rules: scopes expanded, `allowedOnlyIf` typed for every type in scope.
import { diagnostic, type Diagnostic } from '../diagnostics.js';
import { conjunction, type EntityTypeDef, type IR } from '../lang/ir.js';
import { positionOf, type YamlSource } from '../load/yaml-source.js';
import type { InvariantsFile } from '../schema/invariants-file.js';
import type { InvariantCheck, InvariantDef, Schema } from '../types.js';
import { compileCondition } from './compile-condition.js';
import { expandSelector, resolveConditions } from './resolve.js';

const FALSE_IR: IR = { k: 'const', type: { base: 'bool', list: false }, value: false };

export function checkInvariants(
  input: { source: YamlSource; file: InvariantsFile } | undefined,
  schema: Schema,
): { invariants: InvariantDef[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  if (!input) return { invariants: [], diagnostics };
  const { source, file } = input;
  const invariants: InvariantDef[] = [];
  const seen = new Set<string>();
  const defs = (names: string[], map: Map<string, EntityTypeDef>) =>
    names.map((n) => map.get(n)).filter((d): d is EntityTypeDef => d !== undefined);

  file.invariants.forEach((inv, i) => {
    const path = ['invariants', i];
    if (seen.has(inv.id))
      diagnostics.push(
        diagnostic(
          'duplicate-invariant-id',
          positionOf(source, [...path, 'id']),
          `invariant id \`${inv.id}\` is used twice`,
        ),
      );
    seen.add(inv.id);
    const at = positionOf(source, path);
    if ('builtin' in inv) {
      invariants.push({ id: inv.id, description: inv.description, at, builtin: inv.builtin, checks: [] });
      return;
    }
    const checks: InvariantCheck[] = [];
    inv.checks.forEach((check, j) => {
      const cpath = [...path, 'checks', j];
      const principals = expandSelector(
        check.principals,
        [...schema.principals.keys()],
        'principal type',
        source,
        [...cpath, 'principals'],
        diagnostics,
      );
      const actions = expandSelector(
        check.actions,
        schema.actions,
        'action',
        source,
        [...cpath, 'actions'],
        diagnostics,
      );
      const resources = expandSelector(
        check.resources,
        [...schema.resources.keys()],
        'resource type',
        source,
        [...cpath, 'resources'],
        diagnostics,
      );
      const cond = check.allowedOnlyIf;
      let ir: IR | undefined = FALSE_IR;
      let text = 'false';
      if (cond !== false) {
        const scope = {
          principals: defs(principals, schema.principals),
          resources: defs(resources, schema.resources),
          context: schema.context,
        };
        const parts = resolveConditions(cond, scope, source, [...cpath, 'allowedOnlyIf'], diagnostics);
        ir = parts && conjunction(parts.map((p) => p.ir));
        text = typeof cond === 'string' ? cond : cond.join(' and ');
      }
      if (!ir) return;
      checks.push({
        principals,
        actions,
        resources,
        source: text,
        at: positionOf(source, cpath),
        ir,
        test: compileCondition(ir),
      });
    });
    invariants.push({ id: inv.id, description: inv.description, at, checks });
  });
  return { invariants, diagnostics };
}
