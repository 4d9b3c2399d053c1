import { formatDiagnostic } from '../../engine/index.js';
import { readEntitiesFile } from '../../engine/load/read-entities.js';
import { EntityStore } from '../../server/store/entity-store.js';
import type { CliCommand } from '../command.js';
import { addDbOption, openDbOption } from '../database-option.js';
import { EXIT, err, out } from '../io.js';

export function define(command: CliCommand): void {
  addDbOption(
    command
      .command('import')
      .description('load entities, any type with attributes, into the store')
      .argument('<FILE>', 'YAML or JSON: { "entities": [{ type, id, attributes }] }'),
  ).run(runImport);
}

function runImport(file: string, values: { db?: string }): number {
  const { entities, diagnostics } = readEntitiesFile(file);
  if (!entities) {
    for (const d of diagnostics) err(formatDiagnostic(d));
    return EXIT.usage;
  }
  const db = openDbOption(values.db, { create: true });
  try {
    out(JSON.stringify({ imported: new EntityStore(db, Date.now).upsert(entities) }));
  } finally {
    db.close();
  }
  return EXIT.ok;
}
