// Stage: schema.yaml → the typed schema every rule, test and request is checked against.
import { diagnostic, type Diagnostic } from '../diagnostics.js';
import type { AttributeDef, EntityTypeDef } from '../lang/ir.js';
import { parseTypeName } from '../lang/types.js';
import { convertValue, EvaluationError } from '../lang/values.js';
import { positionOf, type YamlSource } from '../load/yaml-source.js';
import type { SchemaFile } from '../schema/schema-file.js';
import type { Schema } from '../types.js';

type AttributeSpec = SchemaFile['context'][string];

export function buildSchema(source: YamlSource, file: SchemaFile): { schema: Schema; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];

  const attribute = (spec: AttributeSpec, path: (string | number)[]): AttributeDef => {
    const form = typeof spec === 'string' ? { type: spec } : spec;
    const { type, optional } = parseTypeName(form.type);
    const def: AttributeDef = { type, optional: optional || (typeof spec !== 'string' && spec.optional === true) };
    if (typeof spec !== 'string' && spec.description !== undefined) def.description = spec.description;
    if (typeof spec !== 'string' && spec.default !== undefined) {
      try {
        def.default = convertValue(type, spec.default, 'the default');
      } catch (e) {
        if (!(e instanceof EvaluationError)) throw e;
        diagnostics.push(diagnostic('type-mismatch', positionOf(source, [...path, 'default']), e.message));
      }
    }
    return def;
  };

  const entityTypes = (group: 'principals' | 'resources'): Map<string, EntityTypeDef> => {
    const out = new Map<string, EntityTypeDef>();
    for (const [name, spec] of Object.entries(file[group])) {
      const attributes = new Map<string, AttributeDef>();
      for (const [attr, attrSpec] of Object.entries(spec.attributes)) {
        if (attr === 'id') {
          diagnostics.push(
            diagnostic(
              'invalid-structure',
              positionOf(source, [group, name, 'attributes', 'id'], true),
              '`id` is built in (a string every entity has); do not declare it',
            ),
          );
          continue;
        }
        attributes.set(attr, attribute(attrSpec, [group, name, 'attributes', attr]));
      }
      const def: EntityTypeDef = { name, attributes };
      if (spec.description !== undefined) def.description = spec.description;
      out.set(name, def);
    }
    return out;
  };

  const context = new Map<string, AttributeDef>();
  for (const [name, spec] of Object.entries(file.context)) context.set(name, attribute(spec, ['context', name]));
  const time = context.get('time');
  if (time && (time.type.base !== 'time' || time.type.list)) {
    diagnostics.push(
      diagnostic(
        'type-mismatch',
        positionOf(source, ['context', 'time']),
        '`context.time` must have type `time` (it defaults to the server clock)',
      ),
    );
  }

  return {
    schema: {
      actions: [...new Set(file.actions)],
      principals: entityTypes('principals'),
      resources: entityTypes('resources'),
      context,
    },
    diagnostics,
  };
}
