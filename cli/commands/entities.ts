import { formatDiagnostic, loadPolicySet } from '../../engine/index.js';
import { readEntitiesFile } from '../../engine/load/read-entities.js';
import { helpOf, resolveSetting } from '../../server/config.js';
import { EntityStore } from '../../server/store/entity-store.js';
import type { CliCommand } from '../command.js';
import { addDbOption, openDbOption } from '../database-option.js';
import { EXIT, err, out } from '../io.js';

export function define(command: CliCommand): void {
  const policies = helpOf('policies');
  addDbOption(
    command
      .command('import')
      .description('load entities, any type with attributes, into the store, checked against the schema of --policies')
      .argument('<FILE>', 'YAML or JSON: { "entities": [{ type, id, attributes }] }')
      .option(policies.flags, `${policies.description}: the entities must match its schema`),
  ).run(runImport);
}

function runImport(file: string, values: { db?: string; policies?: string }): number {
  // The entities are for the sidecars serving these policies: checked against their schema, so the store
  // holds only what the engine accepts.
  const { schema } = loadPolicySet(resolveSetting('policies', values.policies, process.env));
  const { entities, diagnostics } = readEntitiesFile(file, schema);
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
