// A policy directory may carry the entities it needs (`entities.yaml`), checked against the schema just
// loaded: at start and on every successful reload, the pack's entities in the store become exactly the
// file's (an entity removed from the file is gone; no file, no entities). They are the pack's alone: a
// sidecar serving another directory from the same database never sees them. A file that does not
// validate is reported and not loaded (the store keeps the pack's entities as they were).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckedEntity } from '../../engine/entities/index.js';
import { formatDiagnostic, type Schema } from '../../engine/index.js';
import { ENTITIES_FILE, readEntitiesFile } from '../../engine/load/index.js';
import type { EntityStore } from '../store/stores.js';

const NONE: CheckedEntity[] = [];

export async function loadPackEntities(
  dir: string,
  store: EntityStore,
  schema: Schema,
  warn: (message: string, details: Record<string, unknown>) => void,
): Promise<{ loaded: number; errors: string[] }> {
  const path = join(dir, ENTITIES_FILE);
  const { entities, diagnostics } = existsSync(path)
    ? readEntitiesFile(path, schema, ENTITIES_FILE)
    : { entities: NONE, diagnostics: [] };
  if (!entities) return { loaded: 0, errors: diagnostics.map(formatDiagnostic) };
  const { loaded, overStore, inKeyStore } = await store.replacePack(entities);
  // Never silent: the file wins over what an administrator stored for the same entity before the file
  // declared it, and the key store wins over the file.
  if (overStore.length > 0)
    warn(
      'entities.yaml declares entities the store already held (written through the admin API or the CLI): the file owns them now and its attributes are used',
      { entities: overStore },
    );
  if (inKeyStore.length > 0)
    warn('entities.yaml declares devices or provisioning keys of the key store: the key store’s attributes are used', {
      entities: inKeyStore,
    });
  return { loaded, errors: [] };
}
