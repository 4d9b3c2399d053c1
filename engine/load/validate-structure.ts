// Stage helper: zod checks the shape of a YAML document; each issue is mapped back to its node's position.
import type { z } from 'zod';
import { diagnostic, didYouMean, type Diagnostic } from '../diagnostics.js';
import { positionOf, type PathSegment, type YamlSource } from './yaml-source.js';
import { bestUnionBranch } from '../schema/zod-issues.js';

export function validateStructure<T extends z.ZodType>(
  source: YamlSource,
  schema: T,
): { value?: z.infer<T>; diagnostics: Diagnostic[] } {
  const result = schema.safeParse(source.value ?? {});
  if (result.success) return { value: result.data, diagnostics: [] };
  const diagnostics = result.error.issues.flatMap((issue) => issueToDiagnostics(source, issue));
  return { diagnostics };
}

function issueToDiagnostics(source: YamlSource, issue: z.core.$ZodIssue): Diagnostic[] {
  const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
  const field = path.length > 0 ? `\`${path.join('.')}\`: ` : '';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) =>
      diagnostic(
        'invalid-structure',
        positionOf(source, [...path, key], true),
        `${field}unknown field \`${key}\``,
        didYouMean(key, FIELD_NAMES),
      ),
    );
  }
  // A union failed as a whole: report what the branch that got furthest found.
  const branch = bestUnionBranch(issue);
  if (branch) return branch.flatMap((i) => issueToDiagnostics(source, i));
  return [diagnostic('invalid-structure', positionOf(source, path), `${field}${issue.message}`)];
}

/** Every field name of Fleetguard's file formats: the candidates for "did you mean" on an unknown field. */
const FIELD_NAMES = [
  'id',
  'description',
  'effect',
  'principal',
  'actions',
  'resources',
  'when',
  'rules',
  'name',
  'tests',
  'expect',
  'principals',
  'context',
  'contexts',
  'now',
  'resource',
  'type',
  'attributes',
  'invariants',
  'checks',
  'allowedOnlyIf',
  'builtin',
  'optional',
  'default',
  'except',
];
