// `--db FILE` of the commands that work on the sidecar's database: serve's setting (flag, variable, default).
import { existsSync } from 'node:fs';
import { envOf, flagOf, helpOf, resolveSetting } from '../server/config.js';
import { openDatabase, type Db } from '../server/store/database.js';
import type { CliCommand } from './command.js';
import { UsageError } from './io.js';

export function addDbOption(command: CliCommand): CliCommand {
  const { flags, description } = helpOf('db');
  return command.option(flags, description);
}

/**
 * Opens the database at `--db`, `FLEETGUARD_DB` or the default. `create: false` for commands that only read or
 * change what is there: a mistyped path is an error, not a new empty database.
 */
export function openDbOption(flag: string | undefined, { create }: { create: boolean }): Db {
  const path = resolveSetting('db', flag, process.env);
  if (!create && !existsSync(path))
    throw new UsageError(`no database at ${path} (${flagOf('db')} FILE or ${envOf('db')})`);
  return openDatabase(path);
}
