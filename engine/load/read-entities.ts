// Entities files: YAML (or JSON, which is YAML) validated with positions, like every other file, then
// checked against the schema (each problem at the position of the bad value) and put in stored form.
import { readFileSync } from 'node:fs';
import { validateStructure } from './validate-structure.js';
import { diagnostic, type Diagnostic } from '../diagnostics.js';
import { checkEntities, type CheckedEntity } from '../entities/check-entities.js';
import { EntitiesFile } from '../schema/entities-file.js';
import type { Schema } from '../types.js';
import { parseYaml, positionOf, type SourceFile } from './yaml-source.js';

export function parseEntities(
  file: SourceFile,
  schema: Schema,
): { entities?: CheckedEntity[]; diagnostics: Diagnostic[] } {
  const parsed = parseYaml(file);
  if (!parsed.source) return { diagnostics: parsed.diagnostics };
  const source = parsed.source;
  const { value, diagnostics } = validateStructure(source, EntitiesFile);
  if (!value) return { diagnostics };
  const { entities, problems } = checkEntities(schema, value.entities);
  return entities
    ? { entities, diagnostics: [] }
    : {
        diagnostics: problems.map((p) =>
          diagnostic('invalid-entity', positionOf(source, ['entities', ...p.path]), p.message, p.hint),
        ),
      };
}

export function readEntitiesFile(
  path: string,
  schema: Schema,
  name = path,
): { entities?: CheckedEntity[]; diagnostics: Diagnostic[] } {
  return parseEntities({ path: name, text: readFileSync(path, 'utf8') }, schema);
}
