import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas } from '../../engine/index.js';
import type { CliCommand } from '../command.js';
import { EXIT, out } from '../io.js';

export function define(command: CliCommand): void {
  command.option('--out <DIR>', 'where to write the schemas', 'docs/schemas').run(run);
}

function run(values: { out: string }): number {
  mkdirSync(values.out, { recursive: true });
  for (const [name, text] of Object.entries(jsonSchemas())) {
    writeFileSync(join(values.out, name), text);
    out(join(values.out, name));
  }
  return EXIT.ok;
}
