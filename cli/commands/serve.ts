import { Option } from 'commander';
import { helpOf, resolveConfig, SETTINGS, type SettingName } from '../../server/config.js';
import type { CliCommand } from '../command.js';
import { EXIT, err } from '../io.js';

const NAMES = Object.keys(SETTINGS) as SettingName[];

export function define(command: CliCommand): void {
  for (const name of NAMES) {
    const { flags, description } = helpOf(name);
    command.addOption(new Option(flags, description));
  }
  command
    .addHelpText('after', '\nFlags win over environment variables, which win over the defaults.')
    .run(() => run(command));
}

async function run(command: CliCommand): Promise<number> {
  // Only what was typed: commander's own default for `--no-watch` would hide FLEETGUARD_WATCH.
  const flags: Partial<Record<SettingName, unknown>> = {};
  for (const name of NAMES)
    if (command.getOptionValueSource(name) === 'cli') flags[name] = command.getOptionValue(name);
  const config = resolveConfig(flags, process.env);
  // The server (fastify, the stores, pg) loads only once the settings are good: `--help` and a bad
  // setting answer without it.
  const { startServer, StartupError } = await import('../../server/main.js');
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config);
  } catch (e) {
    if (e instanceof StartupError) {
      err(e.errors.join('\n'));
      return EXIT.usage;
    }
    throw e;
  }
  const { log, policies } = server;
  if (config.trustProxy === true)
    log.warn(
      { trustProxy: true },
      'trusting X-Forwarded-For from any sender: a client can choose its own address (rate limits, allowed CIDRs); list the proxies instead',
    );
  log.info(
    {
      address: server.address,
      policies: config.policies,
      db: config.db,
      ...(config.store ? { store: server.stores.location } : {}),
      revision: policies.engine?.revision,
    },
    'fleetguard sidecar listening',
  );

  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing in-flight requests and flushing the decision log');
      server.close().then(
        () => resolve(EXIT.ok),
        (e) => {
          log.error({ err: e }, 'shutdown failed');
          resolve(EXIT.found);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGHUP', () => {
      policies.reload();
      server.shadow.reload();
    });
  });
}
