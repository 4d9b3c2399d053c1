// `--db FILE` and `--store URL` of the commands that work on the sidecar's stores: serve's settings (flag,
// variable, default), opened by the server's own factory.
import { envOf, flagOf, helpOf, resolveSetting } from '../server/config.js';
import { NoStoreError, openStores } from '../server/store/open-stores.js';
import { StoreUnavailableError, type Stores } from '../server/store/stores.js';
import type { CliCommand } from './command.js';
import { EXIT, UsageError } from './io.js';

export interface StoreFlags {
  db?: string;
  store?: string;
}

export function addDbOption(command: CliCommand): CliCommand {
  for (const name of ['db', 'store'] as const) {
    const { flags, description } = helpOf(name);
    command.option(flags, description);
  }
  return command;
}

/**
 * Runs `work` on the stores at `--store` (PostgreSQL) or else `--db` (their variables, or the default), and
 * closes them. `create: false` for commands that only read or change what is there: a mistyped path is
 * an error, not a new empty database. `pack`: the pack (`packScope`) whose entities.yaml owns entities
 * the store must not change. `lookups`: the command uses the stores' synchronous lookups (`has`, `verify`…).
 * `fileOnly`: the command names a SQLite file of its own (`docs --log`): `FLEETGUARD_STORE` does not apply.
 */
export async function withStores(
  values: StoreFlags,
  options: { create: boolean; pack?: string; lookups?: boolean; fileOnly?: boolean },
  work: (stores: Stores) => void | Promise<void>,
): Promise<number> {
  const db = resolveSetting('db', values.db, process.env);
  const store = options.fileOnly ? undefined : resolveSetting('store', values.store, process.env);
  let stores: Stores;
  try {
    stores = await openStores({
      db,
      store,
      create: options.create,
      // A shared store's cache is loaded only for a command that looks things up: on a large store,
      // loading every key would make a revocation wait.
      cache: options.lookups ? 'loaded' : 'none',
      ...(options.pack ? { pack: options.pack } : {}),
    });
  } catch (e) {
    if (e instanceof NoStoreError) throw new UsageError(`${e.message} (${flagOf('db')} FILE or ${envOf('db')})`);
    if (e instanceof StoreUnavailableError) throw new UsageError(e.message);
    throw e;
  }
  try {
    await work(stores);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof StoreUnavailableError) throw new UsageError(e.message);
    throw e;
  } finally {
    await stores.close();
  }
}
