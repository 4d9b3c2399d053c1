// Entities straight into a running sidecar's store, checked against the schema it serves (as every way in
// checks them): a test's entity that does not match fails the test here.
import { checkEntities } from '../../engine/entities/check-entities.js';
import type { StoredEntity } from '../../engine/schema/entities-file.js';
import type { RunningServer } from '../../server/main.js';

export function storeEntities(server: RunningServer, entities: StoredEntity[]): Promise<number> {
  const { entities: checked, problems } = checkEntities(server.policies.serving().policySet.schema, entities);
  if (!checked) throw new Error(`entities do not match the schema: ${JSON.stringify(problems)}`);
  return server.entities.upsert(checked);
}
