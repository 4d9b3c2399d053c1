import { parseArgs } from 'node:util';
import { resolveConfig } from '../../server/config.js';
import { startServer, StartupError } from '../../server/main.js';
import { EXIT, err } from '../io.js';

export const summary =
  'serve [--host H] [--port P | --socket PATH] [--policies DIR] [--db FILE] [--admin-token T]   run the sidecar';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      socket: { type: 'string' },
      policies: { type: 'string' },
      db: { type: 'string' },
      'admin-token': { type: 'string' },
      'authzen-token': { type: 'string' },
      'batch-limit': { type: 'string' },
      'decision-threads': { type: 'string' },
      'log-flush-ms': { type: 'string' },
      'log-overflow': { type: 'string' },
      'log-retention-days': { type: 'string' },
      'log-requests': { type: 'boolean' },
      'log-level': { type: 'string' },
      'no-watch': { type: 'boolean' },
      'trust-proxy': { type: 'string' },
    },
  });
  const config = resolveConfig(
    {
      host: values.host,
      port: values.port,
      socket: values.socket,
      policies: values.policies,
      db: values.db,
      adminToken: values['admin-token'],
      authzenToken: values['authzen-token'],
      batchLimit: values['batch-limit'],
      decisionThreads: values['decision-threads'],
      logFlushMs: values['log-flush-ms'],
      logOverflow: values['log-overflow'],
      logRetentionDays: values['log-retention-days'],
      logRequests: values['log-requests'],
      logLevel: values['log-level'],
      watch: values['no-watch'] ? false : undefined,
      trustProxy: values['trust-proxy'],
    },
    process.env,
  );
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
  log.info(
    { address: server.address, policies: config.policies, db: config.db, revision: policies.engine?.revision },
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
    process.on('SIGHUP', () => policies.reload());
  });
}
