// JSON Schemas for editors (yaml-language-server), generated from the zod schemas: never written by hand.
import { z } from 'zod';
import { InvariantsFile } from './invariants-file.js';
import { PolicyFile } from './policy-file.js';
import { SchemaFile } from './schema-file.js';
import { SuiteFile } from './suite-file.js';

const FILES = {
  'schema-file.json': [SchemaFile, 'Fleetguard schema (schema.yaml)'],
  'policy-file.json': [PolicyFile, 'Fleetguard policy file'],
  'invariants-file.json': [InvariantsFile, 'Fleetguard invariants (invariants.yaml)'],
  'test-suite.json': [SuiteFile, 'Fleetguard policy test suite'],
} as const;

export function jsonSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, [schema, title]] of Object.entries(FILES)) {
    const json = { ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), title };
    out[name] = `${JSON.stringify(json, null, 2)}\n`;
  }
  return out;
}
