// `fleetguard sidecars --store URL`: the sidecars on a shared store and the policy revision each serves, so
// an operator sees a rollout converge. The same list as `GET /v1/admin/sidecars`, read from the store.
import { envOf, flagOf, helpOf, resolveSetting } from '../../server/config.js';
import type { SidecarInfo } from '../../server/sidecar-list.js';
import { createPool } from '../../server/store/postgres/connection.js';
import { isPostgresUrl, redactUrl } from '../../server/store/store-url.js';
import { PgSidecarList } from '../../server/store/postgres/sidecar-registry.js';
import type { CliCommand } from '../command.js';
import { EXIT, out, UsageError } from '../io.js';
import { renderTable } from '../table-cell.js';

export function define(command: CliCommand): void {
  const store = helpOf('store');
  command.option(store.flags, store.description).option('--json', 'print the sidecars as a JSON array').run(run);
}

async function run(values: { store?: string; json?: boolean }): Promise<number> {
  const url = resolveSetting('store', values.store, process.env);
  if (url === undefined || !isPostgresUrl(url))
    throw new UsageError(
      `needs a shared store: ${flagOf('store')} postgres://… or ${envOf('store')} (a sidecar on its own SQLite file lists itself at GET /v1/admin/sidecars)`,
    );
  const pool = createPool(url, { max: 1, applicationName: 'fleetguard sidecars' });
  let sidecars: SidecarInfo[];
  try {
    sidecars = await new PgSidecarList(pool).list();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === '42P01') throw new UsageError(`no sidecar has used the store at ${redactUrl(url)} yet`);
    throw new UsageError(`cannot read the store at ${redactUrl(url)}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    await pool.end();
  }
  if (values.json) {
    out(JSON.stringify(sidecars, null, 2));
    return EXIT.ok;
  }
  const header = ['id', 'host', 'address', 'revision', 'started', 'last seen', 'state'];
  const rows = sidecars.map((s) => [
    s.id,
    s.host,
    s.address,
    s.policyRevision,
    s.startedAt,
    s.lastSeen,
    s.stale ? 'stale' : 'up',
  ]);
  const revisions = new Set(sidecars.filter((s) => !s.stale).map((s) => s.policyRevision));
  const summary =
    revisions.size <= 1
      ? `${sidecars.length} sidecar(s)${revisions.size === 1 ? ', all serving one revision' : ''}`
      : `${sidecars.length} sidecar(s), serving ${revisions.size} revisions`;
  out([...renderTable(header, rows), summary].join('\n'));
  return EXIT.ok;
}
