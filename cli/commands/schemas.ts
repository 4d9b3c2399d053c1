import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonSchemas } from '../../engine/schema/json-schemas.js';
import { EXIT, out } from '../io.js';

export const summary = 'schemas [--out DIR]        write the JSON Schemas of the file formats (default docs/schemas)';

export function run(args: string[]): number {
  const { values } = parseArgs({ args, options: { out: { type: 'string', default: 'docs/schemas' } } });
  mkdirSync(values.out!, { recursive: true });
  for (const [name, text] of Object.entries(jsonSchemas())) {
    writeFileSync(join(values.out!, name), text);
    out(join(values.out!, name));
  }
  return EXIT.ok;
}
