import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPolicySet } from '../../engine/index.js';
import { renderHtml, renderMarkdown } from '../../engine/docs/render-report.js';
import { buildReport } from '../../engine/docs/report.js';
import { verifyInvariants } from '../../engine/verify/verify-invariants.js';
import { EXIT, out, UsageError } from '../io.js';

export const summary = "docs DIR --out DIR           write the auditors' report: index.html and report.md";

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' } } });
  const dir = positionals[0];
  if (!dir || !values.out) throw new UsageError('usage: fleetguard docs DIR --out DIR');
  const set = loadPolicySet(dir);
  const report = buildReport(set, await verifyInvariants(set, { now: Date.now() }));
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'index.html'), renderHtml(report));
  writeFileSync(join(values.out, 'report.md'), renderMarkdown(report));
  out(`${join(values.out, 'index.html')}\n${join(values.out, 'report.md')}`);
  return EXIT.ok;
}
