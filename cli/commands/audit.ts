import { parseArgs } from 'node:util';
import { openDatabase } from '../../server/store/database.js';
import { queryDecisions } from '../../server/store/decision-log.js';
import { parseTime } from '../../engine/lang/values.js';
import { EXIT, out, UsageError } from '../io.js';

export const summary =
  'audit [--db FILE] [--principal ID] [--resource ID] [--outcome allow|deny] [--since T] [--until T] [--limit N] [--json|--ndjson]';

export function run(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      db: { type: 'string', default: process.env.FLEETGUARD_DB ?? 'data/fleetguard.db' },
      principal: { type: 'string' },
      resource: { type: 'string' },
      outcome: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string', default: '1000' },
      json: { type: 'boolean', default: false },
      /** One decision per line, for shipping the log to a central store (DESIGN.md §4). */
      ndjson: { type: 'boolean', default: false },
    },
  });
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
  const db = openDatabase(values.db!);
  try {
    const rows = queryDecisions(db, {
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
      const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
      const line = (cells: string[]) =>
        cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
      out([line(header), ...table.map(line), `${rows.length} decision(s)`].join('\n'));
    }
  } finally {
    db.close();
  }
  return EXIT.ok;
}
