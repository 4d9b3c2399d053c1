import { Option } from 'commander';
import { parseTime } from '../../engine/lang/index.js';
import { ExpectHeadError } from '../../server/decision-log/chain.js';
import type { ChainReport, ExpectedHead } from '../../server/store/stores.js';
import type { CliCommand } from '../command.js';
import { addDbOption, withStores } from '../database-option.js';
import { EXIT, out, UsageError } from '../io.js';
import { renderTable } from '../table-cell.js';

interface Options {
  db?: string;
  store?: string;
  principal?: string;
  resource?: string;
  outcome?: string;
  since?: string;
  until?: string;
  limit: string;
  json?: boolean;
  ndjson?: boolean;
  verify?: boolean;
  expectHead?: string[];
}

const QUERY_OPTIONS = ['principal', 'resource', 'outcome', 'since', 'until', 'limit', 'ndjson'];

export function define(command: CliCommand): void {
  addDbOption(command)
    .option('--principal <ID>', "only this principal's decisions")
    .option('--resource <ID>', 'only decisions on this resource')
    .option('--outcome <allow|deny>', 'only allowed or only denied decisions')
    .option('--since <T>', 'only decisions at or after this RFC 3339 time')
    .option('--until <T>', 'only decisions before this RFC 3339 time')
    .option('--limit <N>', 'most decisions to print, newest first', '1000')
    .addOption(new Option('--json', 'print the decisions as a JSON array').conflicts('ndjson'))
    // One decision per line, for shipping the log to a central store.
    .option('--ndjson', 'print one JSON decision a line')
    .addOption(
      new Option(
        '--verify',
        "check the log's hash chain instead of querying it: exit 1 naming the first block modified, removed or reordered",
      ),
    )
    .addOption(
      new Option(
        '--expect-head <[CHAIN:]HASH>',
        'with --verify: a head hash kept elsewhere (printed by an earlier --verify, or the sidecar log\'s "decision log head" lines) that must still be in the chain; CHAIN:HASH for a log of several chains (a central store); repeatable, one a chain',
      ).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .run(run);
}

async function run(values: Options, command: CliCommand): Promise<number> {
  if (values.verify) return verify(values, command);
  if (values.expectHead !== undefined) throw new UsageError('--expect-head goes with --verify');
  if (values.outcome !== undefined && values.outcome !== 'allow' && values.outcome !== 'deny')
    throw new UsageError('--outcome is allow or deny');
  const time = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const t = parseTime(v);
    if (t === undefined) throw new UsageError(`--${flag} takes an RFC 3339 time such as 2026-06-01T00:00:00Z`);
    return t;
  };
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a positive integer');
  return withStores(values, { create: false }, async ({ decisions }) => {
    const rows = await decisions.query({
      ...(values.principal !== undefined ? { principal: values.principal } : {}),
      ...(values.resource !== undefined ? { resource: values.resource } : {}),
      ...(values.outcome !== undefined ? { outcome: values.outcome as 'allow' | 'deny' } : {}),
      ...(values.since !== undefined ? { since: time('since', values.since)! } : {}),
      ...(values.until !== undefined ? { until: time('until', values.until)! } : {}),
      limit,
    });
    if (values.json) {
      out(JSON.stringify(rows, null, 2));
    } else if (values.ndjson) {
      if (rows.length > 0) out(rows.map((r) => JSON.stringify(r)).join('\n'));
    } else {
      const header = ['time', 'outcome', 'principal', 'action', 'resource', 'matched', 'revision'];
      const table = rows.map((r) => [
        r.time,
        r.outcome,
        `${r.principalType}:${r.principalId}`,
        r.action,
        `${r.resourceType}:${r.resourceId}`,
        r.matched.join(',') || '-',
        r.policyRevision,
      ]);
      out([...renderTable(header, table), `${rows.length} decision(s)`].join('\n'));
    }
  });
}

async function verify(values: Options, command: CliCommand): Promise<number> {
  const given = QUERY_OPTIONS.filter((name) => command.getOptionValueSource(name) === 'cli');
  if (given.length > 0) throw new UsageError(`--verify checks the whole log: it takes no --${given[0]}`);
  const expected = (values.expectHead ?? []).map(expectedHead);
  let reports: ChainReport[] = [];
  await withStores(values, { create: false }, async ({ decisions, location }) => {
    if (!decisions.verify) throw new UsageError(`the decision log at ${location} holds no hash chain to verify`);
    try {
      reports = await decisions.verify(expected);
    } catch (e) {
      if (e instanceof ExpectHeadError) throw new UsageError(`--expect-head: ${e.message}`);
      throw e;
    }
  });
  if (values.json) out(JSON.stringify(reports, null, 2));
  else if (reports.length === 0) out('ok: the log holds no chain yet');
  else
    out(
      reports
        .map((r) =>
          r.broken
            ? `broken: chain ${r.chainId}: ${r.broken.message}; ${verified(r)} before it`
            : `ok: ${verified(r)}; ${where(r)}`,
        )
        .join('\n'),
    );
  return reports.some((r) => r.broken) ? EXIT.found : EXIT.ok;
}

/** `--expect-head HASH` or `CHAIN:HASH`. */
function expectedHead(value: string): ExpectedHead {
  const colon = value.lastIndexOf(':');
  const hash = value.slice(colon + 1).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash))
    throw new UsageError('--expect-head takes a SHA-256 hash (64 hexadecimal digits), or CHAIN:HASH');
  return colon < 0 ? { hash } : { chainId: value.slice(0, colon), hash };
}

function verified(r: ChainReport): string {
  return `${r.blocks} block(s), ${r.decisions} decision(s) verified`;
}

function where(r: ChainReport): string {
  const dropped = r.droppedBlocks > 0 ? ` (retention removed ${r.droppedDecisions} decision(s) before it)` : '';
  return `chain ${r.chainId} starts at decision ${r.startSeq}${dropped}; head ${r.head} (next decision ${r.nextSeq})`;
}
