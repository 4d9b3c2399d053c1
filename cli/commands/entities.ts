import { formatDiagnostic, loadPolicySet } from '../../engine/index.js';
import { readEntitiesFile } from '../../engine/load/index.js';
import { helpOf, resolveSetting } from '../../server/config.js';
import { packScope } from '../../server/store/entity-store.js';
import { PackOwnedError } from '../../server/store/stores.js';
import type { CliCommand } from '../command.js';
import { addDbOption, withStores, type StoreFlags } from '../database-option.js';
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

async function runImport(file: string, values: StoreFlags & { policies?: string }): Promise<number> {
  // The entities are for the sidecars serving these policies: checked against their schema, so the store
  // holds only what the engine accepts.
  const policies = resolveSetting('policies', values.policies, process.env);
  const { schema } = loadPolicySet(policies);
  const { entities, diagnostics } = readEntitiesFile(file, schema);
  if (!entities) {
    for (const d of diagnostics) err(formatDiagnostic(d));
    return EXIT.usage;
  }
  // What the pack's entities.yaml declares is the file's to change: refused, nothing stored.
  return withStores(values, { create: true, pack: packScope(policies) }, async (stores) => {
    try {
      out(JSON.stringify({ imported: await stores.entities.upsert(entities) }));
    } catch (e) {
      if (e instanceof PackOwnedError) throw new UsageError(e.message);
      throw e;
    }
  });
}
