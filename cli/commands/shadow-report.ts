// `fleetguard shadow-report`: what a shadow candidate (`serve --shadow-policies`) decided otherwise than the
// live policies, read from the sidecar's database after the fact: counts by candidate, direction, principal
// type, action and resource type, with the first examples of each.
import { envOf, flagOf, resolveSetting } from '../../server/config.js';
import { summarizeShadow } from '../../server/shadow/sqlite-shadow-store.js';
import type { ShadowSide } from '../../server/shadow/disagreement.js';
import type { ShadowSummary } from '../../server/shadow/shadow-store.js';
import { parseSince, SINCE_HELP } from '../../server/shadow/since.js';
import { NoStoreError, openSqliteStores } from '../../server/store/open-stores.js';
import type { CliCommand } from '../command.js';
import { addDbOption } from '../database-option.js';
import { EXIT, out, UsageError } from '../io.js';
import { renderTable, tableCell } from '../table-cell.js';

interface Options {
  db?: string;
  since?: string;
  examples: string;
  json?: boolean;
}

export function define(command: CliCommand): void {
  addDbOption(command)
    .option('--since <T>', `only disagreements since then: ${SINCE_HELP}`)
    .option('--examples <N>', 'examples shown per group, the first ones recorded', '3')
    .option('--json', 'print the summary as JSON (the shape of GET /v1/admin/shadow, without the candidate)')
    .run(run);
}

async function run(values: Options): Promise<number> {
  const since = values.since === undefined ? undefined : parseSince(values.since, Date.now());
  if (values.since !== undefined && since === undefined) throw new UsageError(`--since takes ${SINCE_HELP}`);
  const examples = Number(values.examples);
  if (!Number.isInteger(examples) || examples < 0) throw new UsageError('--examples takes an integer, 0 or more');
  const db = resolveSetting('db', values.db, process.env);
  let stores: ReturnType<typeof openSqliteStores>;
  try {
    stores = openSqliteStores({ db, create: false });
  } catch (e) {
    if (e instanceof NoStoreError) throw new UsageError(`${e.message} (${flagOf('db')} FILE or ${envOf('db')})`);
    throw e;
  }
  try {
    const summary = summarizeShadow(stores.db, { ...(since === undefined ? {} : { since }), examples });
    out(values.json ? JSON.stringify(summary, null, 2) : renderSummary(summary));
    return EXIT.ok;
  } finally {
    await stores.close();
  }
}

const rules = (side: ShadowSide) =>
  side.matched.length > 0 ? side.matched.map((m) => tableCell(m.rule)).join(',') : (side.reason ?? 'no rule');

/** The summary for people: totals, one line per candidate, a table of groups, then their examples. */
export function renderSummary(s: ShadowSummary): string {
  const lines = [
    `${s.total} disagreement(s)${s.since ? ` since ${s.since}` : ''}: ${s.widened} widened (the candidate allows what is denied), ${s.narrowed} narrowed`,
  ];
  for (const c of s.candidates) lines.push(`candidate ${c.revision}: ${c.count}, from ${c.first} to ${c.last}`);
  if (s.groups.length === 0) return lines.join('\n');
  const header = ['direction', 'principal', 'action', 'resource', 'count', 'first', 'last', 'candidate'];
  const rows = s.groups.map((g) => [
    g.direction,
    g.principalType,
    g.action,
    g.resourceType,
    String(g.count),
    g.first,
    g.last,
    g.candidateRevision,
  ]);
  lines.push('', ...renderTable(header, rows));
  const shown = s.groups.filter((g) => g.examples.length > 0);
  if (shown.length > 0) lines.push('', 'first examples:');
  for (const g of shown) {
    for (const e of g.examples) {
      lines.push(
        `  ${e.time} ${e.direction} ${tableCell(e.decisionId)}: ${tableCell(e.principal.type)}:${tableCell(e.principal.id)} ${tableCell(e.action)} ${tableCell(e.resource.type)}:${tableCell(e.resource.id)}; live ${e.live.outcome} (${rules(e.live)}), candidate ${e.candidate.outcome} (${rules(e.candidate)})`,
      );
    }
  }
  return lines.join('\n');
}
