import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicySet } from '../../engine/index.js';
import { buildReport, renderHtml, renderMarkdown } from '../../engine/docs/index.js';
import { analyzeUsage, type UsageDecision, type UsageReport } from '../../engine/usage/index.js';
import { verifyInvariants } from '../../engine/verify/index.js';
import type { PolicySet } from '../../engine/index.js';
import type { CliCommand } from '../command.js';
import { withStores } from '../database-option.js';
import { decisionsIn, usageDecisionOf } from '../decision-pages.js';
import { EXIT, out, UsageError } from '../io.js';

const DAY = 86_400_000;
/** Most bars in a rule's chart: a longer log gets bars of several days. */
const BARS_MAX = 60;

export function define(command: CliCommand): void {
  command
    .argument('<DIR>', 'policy directory')
    .requiredOption('--out <DIR>', 'where to write index.html and report.md')
    .option('--log <FILE>', "add a Usage section from this database's decision log: each rule's matches over time")
    .run(run);
}

async function run(dir: string, values: { out: string; log?: string }): Promise<number> {
  const set = loadPolicySet(dir);
  if (values.log !== undefined && !existsSync(values.log))
    throw new UsageError(`no database at ${values.log} (--log FILE)`);
  const usage = values.log ? await usageOf(set, values.log) : undefined;
  const report = buildReport(set, await verifyInvariants(set, { now: Date.now() }), usage);
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'index.html'), renderHtml(report));
  writeFileSync(join(values.out, 'report.md'), renderMarkdown(report));
  out(`${join(values.out, 'index.html')}\n${join(values.out, 'report.md')}`);
  return EXIT.ok;
}

/** The whole log, in whole-day bars from the day of its first decision to the day of its last. */
async function usageOf(set: PolicySet, file: string): Promise<UsageReport> {
  const decisions: UsageDecision[] = [];
  await withStores({ db: file }, { create: false, fileOnly: true }, async (stores) => {
    for await (const d of decisionsIn(stores.decisions, {})) decisions.push(usageDecisionOf(d));
  });
  const first = decisions.length ? decisions[0]!.time : Date.now();
  const last = decisions.length ? decisions[decisions.length - 1]!.time : first;
  const since = Math.floor(first / DAY) * DAY;
  const days = Math.floor(last / DAY) + 1 - since / DAY;
  const perBar = Math.ceil(days / BARS_MAX);
  const buckets = Math.ceil(days / perBar);
  return analyzeUsage(set, decisions, [], { since, until: since + buckets * perBar * DAY, buckets });
}
