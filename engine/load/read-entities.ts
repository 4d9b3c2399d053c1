// Entities files: YAML (or JSON, which is YAML) validated with positions, like every other file.
import { readFileSync } from 'node:fs';
import { validateStructure } from '../compile/validate-structure.js';
import type { Diagnostic } from '../diagnostics.js';
import { EntitiesFile, type StoredEntity } from '../schema/entities-file.js';
import { parseYaml, type SourceFile } from './yaml-source.js';

export function parseEntities(file: SourceFile): { entities?: StoredEntity[]; diagnostics: Diagnostic[] } {
  const parsed = parseYaml(file);
  if (!parsed.source) return { diagnostics: parsed.diagnostics };
  const { value, diagnostics } = validateStructure(parsed.source, EntitiesFile);
  return value ? { entities: value.entities, diagnostics } : { diagnostics };
}

export function readEntitiesFile(path: string, name = path): { entities?: StoredEntity[]; diagnostics: Diagnostic[] } {
  return parseEntities({ path: name, text: readFileSync(path, 'utf8') });
}
