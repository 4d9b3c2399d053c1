// A policy directory may carry the entities it needs (`entities.yaml`): loaded into the store at start
// and on every successful reload, checked against the schema just loaded. A file that does not validate
// is reported and not loaded.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostic, type Schema } from '../../engine/index.js';
import { ENTITIES_FILE } from '../../engine/load/read-policy-dir.js';
import { readEntitiesFile } from '../../engine/load/read-entities.js';
import type { EntityStore } from '../store/entity-store.js';

export function loadPackEntities(
  dir: string,
  store: EntityStore,
  schema: Schema,
): { loaded: number; errors: string[] } {
  const path = join(dir, ENTITIES_FILE);
  if (!existsSync(path)) return { loaded: 0, errors: [] };
  const { entities, diagnostics } = readEntitiesFile(path, schema, ENTITIES_FILE);
  if (!entities) return { loaded: 0, errors: diagnostics.map(formatDiagnostic) };
  return { loaded: store.upsert(entities), errors: [] };
}
