import { formatDiagnostic, loadPolicySet } from '../../engine/index.js';
import { readEntitiesFile } from '../../engine/load/read-entities.js';
import { helpOf, resolveSetting } from '../../server/config.js';
import { EntityStore, PackOwnedError, packScope } from '../../server/store/entity-store.js';
import type { CliCommand } from '../command.js';
import { addDbOption, openDbOption } from '../database-option.js';
import { EXIT, err, out, UsageError } from '../io.js';

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
  const policies = resolveSetting('policies', values.policies, process.env);
  const { schema } = loadPolicySet(policies);
  const { entities, diagnostics } = readEntitiesFile(file, schema);
  if (!entities) {
    for (const d of diagnostics) err(formatDiagnostic(d));
    return EXIT.usage;
  }
  const db = openDbOption(values.db, { create: true });
  try {
    // What the pack's entities.yaml declares is the file's to change: refused, nothing stored.
    out(JSON.stringify({ imported: new EntityStore(db, Date.now, packScope(policies)).upsert(entities) }));
  } catch (e) {
    if (e instanceof PackOwnedError) throw new UsageError(e.message);
    throw e;
  } finally {
    db.close();
  }
  return EXIT.ok;
}
