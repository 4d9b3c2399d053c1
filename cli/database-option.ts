// `--db FILE` of the commands that work on the sidecar's stores: serve's setting (flag, variable, default),
// opened by the server's own factory.
import { envOf, flagOf, helpOf, resolveSetting } from '../server/config.js';
import { NoStoreError, openStores } from '../server/store/open-stores.js';
import type { Stores } from '../server/store/stores.js';
import type { CliCommand } from './command.js';
import { EXIT, UsageError } from './io.js';

export function addDbOption(command: CliCommand): CliCommand {
  const { flags, description } = helpOf('db');
  return command.option(flags, description);
}

/**
 * Runs `work` on the stores at `--db`, `FLEETGUARD_DB` or the default, and closes them. `create: false` for
 * commands that only read or change what is there: a mistyped path is an error, not a new empty database.
 * `pack`: the pack (`packScope`) whose entities.yaml owns entities the store must not change.
 */
export async function withStores(
  flag: string | undefined,
  options: { create: boolean; pack?: string },
  work: (stores: Stores) => void | Promise<void>,
): Promise<number> {
  const db = resolveSetting('db', flag, process.env);
  let stores: Stores;
  try {
    stores = openStores({ db, create: options.create, ...(options.pack ? { pack: options.pack } : {}) });
  } catch (e) {
    if (e instanceof NoStoreError) throw new UsageError(`${e.message} (${flagOf('db')} FILE or ${envOf('db')})`);
    throw e;
  }
  try {
    await work(stores);
    return EXIT.ok;
  } finally {
    await stores.close();
  }
}
