// `fleetguard unused`: least privilege from the decision log. Reads the window's decisions through the
// store's DecisionReader and the principals the store knows, and prints what engine/usage finds.
import { loadPolicySet, type Entity, type PolicySet } from '../../engine/index.js';
import { analyzeUsage, type KnownPrincipal, type UsageDecision, type UsageReport } from '../../engine/usage/index.js';
import { helpOf, resolveSetting } from '../../server/config.js';
import { packScope } from '../../server/store/entity-store.js';
import type { Stores } from '../../server/store/stores.js';
import type { CliCommand } from '../command.js';
import { addDbOption, withStores } from '../database-option.js';
import { decisionsIn, usageDecisionOf } from '../decision-pages.js';
import { EXIT, out } from '../io.js';
import { parseSince, SINCE_HELP } from '../since-option.js';

/** Most principals of one type read from the store: past it the list of principals is cut (and says so). */
export const STORE_PRINCIPALS_MAX = 10_000;
const DAY = 86_400_000;

export function define(command: CliCommand): void {
  const policies = helpOf('policies');
  addDbOption(command.option(policies.flags, policies.description))
    .option('--since <T>', SINCE_HELP, '30d')
    .option('--json', 'print the analysis as JSON')
    .addHelpText(
      'after',
      `
Reads the decision log of the window (--db) and the principals the store knows, and prints: the rules
that never matched, the rules that matched on only some of their actions and resource types (narrow them),
for each principal type and role what the policies grant against what the log shows used, and the
principals holding a grant they never used. A rule matches in the log when it decided a decision: an
allow rule that allowed, a deny rule that denied.

Exit status: 0 (a report, whatever it finds), 2 bad usage, invalid policies or no database.`,
    )
    .run(run);
}

interface Options {
  policies?: string;
  db?: string;
  store?: string;
  since: string;
  json?: boolean;
}

/** The window's decisions and the principals known from logged requests and from the store. */
export async function readUsageInput(
  stores: Stores,
  set: PolicySet,
  window: { since: number; until: number },
): Promise<{ decisions: UsageDecision[]; principals: KnownPrincipal[]; truncated: string[] }> {
  const decisions: UsageDecision[] = [];
  const fromRequests = new Map<string, KnownPrincipal>();
  for await (const d of decisionsIn(stores.decisions, window)) {
    decisions.push(usageDecisionOf(d));
    const principal = (d.request as { principal?: Entity } | undefined)?.principal;
    if (principal && typeof principal.type === 'string' && set.schema.principals.has(principal.type))
      fromRequests.set(`${principal.type}\0${principal.id}`, { principal, source: 'request' });
  }
  const principals = new Map<string, KnownPrincipal>();
  const truncated: string[] = [];
  for (const type of set.schema.principals.keys()) {
    let after: string | undefined;
    let read = 0;
    for (;;) {
      const ids = await stores.entities.ids(type, after, 1000);
      for (const id of ids) {
        const attributes = stores.entities.attributes(type, id);
        if (attributes)
          principals.set(`${type}\0${id}`, { principal: { type, id, attributes: { ...attributes } }, source: 'store' });
      }
      read += ids.length;
      if (ids.length < 1000) break;
      if (read >= STORE_PRINCIPALS_MAX) {
        truncated.push(type);
        break;
      }
      after = ids[ids.length - 1];
    }
  }
  // What the store holds now wins over what a request carried then.
  for (const [key, p] of fromRequests) if (!principals.has(key)) principals.set(key, p);
  return { decisions, principals: [...principals.values()], truncated };
}

async function run(values: Options): Promise<number> {
  const dir = resolveSetting('policies', values.policies, process.env);
  const set = loadPolicySet(dir);
  const now = Date.now();
  const since = parseSince(values.since, now);
  let report: UsageReport | undefined;
  let truncated: string[] = [];
  await withStores(values, { create: false, pack: packScope(dir), lookups: true }, async (stores) => {
    const input = await readUsageInput(stores, set, { since, until: now });
    truncated = input.truncated;
    report = analyzeUsage(set, input.decisions, input.principals, {
      since,
      until: now,
      buckets: Math.min(60, Math.max(1, Math.ceil((now - since) / DAY))),
    });
  });
  if (!report) return EXIT.usage;
  if (values.json) out(JSON.stringify({ ...report, truncatedPrincipalTypes: truncated }, null, 2));
  else out(renderText(report, truncated));
  return EXIT.ok;
}

/** `read fleet, device; ssh device`: pairs grouped by action. */
function pairs(ps: { action: string; resource: string }[]): string {
  const byAction = new Map<string, string[]>();
  for (const p of ps) byAction.set(p.action, [...(byAction.get(p.action) ?? []), p.resource]);
  return [...byAction].map(([action, resources]) => `${action} ${resources.join(', ')}`).join('; ');
}

function renderText(r: UsageReport, truncated: string[]): string {
  const iso = (t: number) => new Date(t).toISOString();
  const lines = [
    `policy revision ${r.revision}; ${r.decisions} decision(s) from ${iso(r.since)} to ${iso(r.until)}${r.revisions.length ? ` (made by ${r.revisions.join(', ')})` : ''}`,
  ];
  if (r.unknownRules.length)
    lines.push(`rules in the log that these policies do not hold: ${r.unknownRules.join(', ')}`);
  const unused = r.rules.filter((x) => x.matches === 0);
  lines.push('', `unused rules (${unused.length} of ${r.rules.length}):`);
  for (const x of unused)
    lines.push(
      `  ${x.id}  ${x.policy}:${x.line}  ${x.effect === 'allow' ? 'allow: never allowed anything; remove it or find who needs it' : 'deny: denied nothing (a guard: keep it if it guards against what did not happen)'}`,
    );
  const narrow = r.rules.filter((x) => x.verdict === 'narrow');
  lines.push('', `rules to narrow (${narrow.length}): matched on some of their actions and resource types only`);
  for (const x of narrow)
    lines.push(`  ${x.id}  ${x.policy}:${x.line}  used: ${pairs(x.exercised)}; never: ${pairs(x.unexercised)}`);
  lines.push('', 'grants by principal type and role (granted by the policies / used in the log):');
  for (const g of r.roles) {
    lines.push(`  ${g.principal}${g.role ? ` ${g.role}` : ''}: ${g.exercised.length}/${g.granted.length} used`);
    if (g.unexercised.length) lines.push(`    never used: ${pairs(g.unexercised)}`);
    if (g.remove.length) lines.push(`    rules never used for it: ${g.remove.join(', ')}`);
    if (g.narrow.length) lines.push(`    rules used in part for it: ${g.narrow.join(', ')}`);
  }
  lines.push('', `principals holding a grant they never used (${r.principals.length}):`);
  for (const p of r.principals.slice(0, 50))
    lines.push(
      `  ${p.type} ${p.id} (${p.source}, ${p.decisions} decision(s)): ${p.unused.length}/${p.granted} unused: ${pairs(p.unused)}`,
    );
  if (r.principals.length > 50) lines.push(`  … ${r.principals.length - 50} more (--json lists them all)`);
  if (r.principalsWithoutAttributes)
    lines.push(
      `  ${r.principalsWithoutAttributes} principal(s) in the log are not in the store and have no logged request (serve --log-requests): their grants are not known`,
    );
  for (const type of truncated)
    lines.push(`  only the first ${STORE_PRINCIPALS_MAX} ${type} principals of the store were read`);
  return lines.join('\n');
}
