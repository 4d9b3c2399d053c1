import { parseArgs } from 'node:util';
import { formatDiagnostic } from '../../engine/index.js';
import { readEntitiesFile } from '../../engine/load/read-entities.js';
import { openDatabase } from '../../server/store/database.js';
import { EntityStore } from '../../server/store/entity-store.js';
import { EXIT, err, out, UsageError } from '../io.js';

export const summary =
  'entities import FILE [--db FILE]   load entities (YAML or JSON: { "entities": [{ type, id, attributes }] })';

export function run(args: string[]): number {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { db: { type: 'string', default: process.env.FLEETGUARD_DB ?? 'data/fleetguard.db' } },
  });
  const file = positionals[0];
  if (sub !== 'import' || !file) throw new UsageError('usage: fleetguard entities import FILE [--db FILE]');
  const { entities, diagnostics } = readEntitiesFile(file);
  if (!entities) {
    for (const d of diagnostics) err(formatDiagnostic(d));
    return EXIT.usage;
  }
  const db = openDatabase(values.db!);
  try {
    out(JSON.stringify({ imported: new EntityStore(db, Date.now).upsert(entities) }));
  } finally {
    db.close();
  }
  return EXIT.ok;
}
