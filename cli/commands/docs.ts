import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicySet } from '../../engine/index.js';
import { buildReport, renderHtml, renderMarkdown } from '../../engine/docs/index.js';
import { verifyInvariants } from '../../engine/verify/index.js';
import type { CliCommand } from '../command.js';
import { EXIT, out } from '../io.js';

export function define(command: CliCommand): void {
  command
    .argument('<DIR>', 'policy directory')
    .requiredOption('--out <DIR>', 'where to write index.html and report.md')
    .run(run);
}

async function run(dir: string, values: { out: string }): Promise<number> {
  const set = loadPolicySet(dir);
  const report = buildReport(set, await verifyInvariants(set, { now: Date.now() }));
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'index.html'), renderHtml(report));
  writeFileSync(join(values.out, 'report.md'), renderMarkdown(report));
  out(`${join(values.out, 'index.html')}\n${join(values.out, 'report.md')}`);
  return EXIT.ok;
}
