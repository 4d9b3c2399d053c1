// The sidecar process: configuration, database, policies, decision log, listening, reloads, shutdown.
import { existsSync, unlinkSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { decisionIdGenerator } from '../engine/index.js';
import { buildApp } from './app.js';
import type { ServerConfig } from './config.js';
import { Metrics } from './plugins/metrics.js';
import { PolicyHolder } from './plugins/policy-holder.js';
import { PolicyWatcher, type WatchDirectory } from './plugins/policy-watcher.js';
import type { Db } from './store/database.js';
import { packScope } from './store/entity-store.js';
import { openStores, SqliteStores } from './store/open-stores.js';
import { redactUrl } from './store/store-url.js';
import {
  StoreUnavailableError,
  type DecisionSink,
  type EntityStore,
  type KeyStore,
  type Stores,
} from './store/stores.js';
import { loadPackEntities } from './plugins/pack-entities.js';
import { DecisionPool, type DecisionPoolOptions } from './decide/decision-pool.js';
import type { DecisionRecorder } from './decide/recorders.js';
import { createLog, type Log } from './log.js';
import { checkAddressFree } from './listen-check.js';
import { GracefulClose } from './graceful-close.js';
import { readAdminTokenFile } from './admin-token-file.js';
import { LocalSidecarList, sidecarSelf } from './sidecar-list.js';
import { loadCandidate, Shadow } from './shadow/shadow.js';
import { SqliteShadowStore } from './shadow/sqlite-shadow-store.js';
import { registerShadowMetrics } from './shadow/shadow-metrics.js';

export interface RunningServer {
  app: FastifyInstance;
  log: Log;
  stores: Stores;
  /** The SQLite file's connection (keys, entities and the decision log), for tests and tools that read it. */
  db: Db;
  policies: PolicyHolder;
  /** Reloads on changes in the policy directory (none with `--no-watch`). */
  watcher: PolicyWatcher | undefined;
  decisionLog: DecisionSink;
  keys: KeyStore;
  entities: EntityStore;
  pool: DecisionPool | undefined;
  /** Shadow evaluation: the candidate (`--shadow-policies`, or set through the admin API) and its records. */
  shadow: Shadow;
  /** `http://host:port` or the socket path. */
  address: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** How the policy directory is watched (tests make it fail). */
  watchDirectory?: WatchDirectory;
  /** When a decision thread that stopped is replaced (tests choose the moment). */
  scheduleThreadRestart?: DecisionPoolOptions['scheduleRestart'];
  /** More recorders of every decision made over HTTP (decide/recorders.ts), beside the log and the metrics. */
  recorders?: readonly DecisionRecorder[];
  /** The clock decisions are timed with (a test steps its own). */
  decisionTimer?: () => number;
}

/** `log`: where the sidecar's log lines go (by default stdout at the configured level). */
export async function startServer(
  settings: ServerConfig,
  log: Log = createLog(settings.logLevel),
  options: StartOptions = {},
): Promise<RunningServer> {
  let config: ServerConfig;
  try {
    config = readAdminTokenFile(settings);
  } catch (e) {
    throw new StartupError([(e as Error).message], 'the admin token is not usable');
  }
  const policies = new PolicyHolder(config.policies, { clock: Date.now, newDecisionId: decisionIdGenerator() });
  const first = policies.reload();
  if (!first.ok) throw new StartupError(first.errors ?? []);
  const candidate = config.shadowPolicies === undefined ? undefined : loadCandidate(config.shadowPolicies, Date.now);
  if (candidate && !(candidate instanceof PolicyHolder))
    throw new StartupError(candidate.errors ?? [], `the shadow policies (${config.shadowPolicies}) do not compile`);
  await checkAddressFree(config);

  const warn = (message: string, details?: Record<string, unknown>) => log.warn(details ?? {}, message);
  let stores: Awaited<ReturnType<typeof openStores>>;
  try {
    stores = await openStores({
      db: config.db,
      store: config.store,
      pack: packScope(config.policies),
      staleAfterMs: config.storeStaleAfter * 1000,
      cache: 'kept',
      onStoreState: (up, error) =>
        up
          ? log.info({ store: redactUrl(config.store!) }, 'store reachable: cache loaded, kept current')
          : log.warn(
              { store: redactUrl(config.store!), error, staleAfter: config.storeStaleAfter },
              'store unreachable: provisioning answers 503; credentials are checked from the cache until it is stale',
            ),
    });
  } catch (e) {
    if (e instanceof StoreUnavailableError) throw new StartupError([e.message], 'the store cannot be opened');
    throw e;
  }
  const { db, keys, entities } = stores;
  const decisionLog = stores.openDecisionSink({
    flushMs: config.logFlushMs,
    queueMax: config.logQueueMax,
    overflow: config.logOverflow,
    retentionDays: config.logRetentionDays,
    logRequests: config.logRequests,
    blockRows: config.logBlockRows,
    clock: Date.now,
    warn,
    // A copy of the chain's head outside the database (decision-log/chain.ts): `audit --verify --expect-head`.
    exportHead: (head) => log.info({ decisionLogHead: head }, 'decision log head'),
  });
  const packed = await loadPackEntities(config.policies, entities, policies.serving().policySet.schema, warn);
  if (packed.errors.length > 0) {
    await decisionLog.close();
    await stores.close();
    throw new StartupError(packed.errors);
  }
  const pool =
    config.decisionThreads > 0
      ? new DecisionPool({
          threads: config.decisionThreads,
          batchLimit: config.batchLimit,
          logRequests: config.logRequests,
          warn,
          scheduleRestart: options.scheduleThreadRestart,
          onShadowed: (disagreements, compared) => shadow.fromThread(disagreements, compared),
        })
      : undefined;
  const shadowStore = new SqliteShadowStore(db, {
    flushMs: config.logFlushMs,
    queueMax: SHADOW_QUEUE_MAX,
    retentionDays: config.logRetentionDays,
    clock: Date.now,
    warn,
    write: (sql, params) => decisionLog.runBeside(sql, params),
  }).start();
  const shadow = new Shadow({
    store: shadowStore,
    log,
    watch: config.watch,
    watchDirectory: options.watchDirectory,
    threads: pool,
    liveSet: () => policies.engine?.policySet,
    clock: Date.now,
  });
  if (candidate) shadow.adopt(candidate);
  const watcher = config.watch
    ? new PolicyWatcher(policies, { watchDirectory: options.watchDirectory, warn })
    : undefined;
  const metrics = new Metrics(policies, decisionLog, pool, watcher, stores);
  const self = sidecarSelf(''); // its address once it listens
  const revision = () => policies.engine?.revision ?? '';
  // On a shared store every sidecar registers there, so each lists them all; on its own file, itself.
  const registry =
    stores instanceof SqliteStores
      ? undefined
      : new (await import('./store/postgres/sidecar-registry.js')).PgSidecarRegistry(stores.pool, self, revision, {
          warn,
        });
  const sidecars = registry ?? new LocalSidecarList(self, revision);
  registerShadowMetrics(metrics.registry, shadow, shadowStore);
  const app = buildApp({
    config,
    policies,
    watcher,
    decisionLog,
    metrics,
    keys,
    entities,
    store: stores,
    clock: Date.now,
    log,
    pool,
    recorders: options.recorders,
    now: options.decisionTimer,
    sidecars,
    shadow,
  });
  policies.onReload((s) => {
    if (!s.ok) {
      log.error({ errors: s.errors, revision: s.revision }, 'policy reload failed; still serving the last good set');
      return;
    }
    pool?.load(policies.serving().policySet); // before any later batch is sent
    void registry?.beat(); // the registry shows the new revision now, not at the next heartbeat
    loadPackEntities(config.policies, entities, policies.serving().policySet.schema, warn).then(
      (packed) => {
        if (packed.errors.length > 0)
          log.error({ errors: packed.errors }, 'entities.yaml does not validate; the store keeps its entities');
        log.info({ revision: s.revision }, 'policies loaded');
      },
      (e: unknown) => log.error({ err: e, revision: s.revision }, 'entities.yaml could not be stored'),
    );
  });

  watcher?.start();

  const connections = new GracefulClose(app.server);
  let address: string;
  if (config.socket) {
    if (existsSync(config.socket)) unlinkSync(config.socket);
    await app.listen({ path: config.socket });
    address = config.socket;
  } else {
    address = await app.listen({ host: config.host, port: config.port });
  }

  self.address = address;
  registry?.start();
  pool?.start(policies.serving().policySet);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      watcher?.close();
      shadow.close();
      // Stops accepting and lets the requests in flight finish, within the shutdown timeout.
      const { destroyed } = await connections.close(() => app.close(), config.shutdownTimeout * 1000);
      if (destroyed > 0)
        log.warn(
          { destroyed, shutdownTimeout: config.shutdownTimeout },
          'shutdown timeout: connections with requests still in flight were destroyed',
        );
      await shadow.drain();
      await pool?.close();
      await shadowStore.close();
      await decisionLog.close(); // writes everything still queued, ships what it can
      await registry?.close();
      await stores.close();
    })());
  return { app, log, stores, db, policies, watcher, decisionLog, keys, entities, pool, shadow, address, close };
}

/** Disagreements waiting to be written, at most (beyond: counted as dropped). */
const SHADOW_QUEUE_MAX = 100_000;

export class StartupError extends Error {
  constructor(
    readonly errors: string[],
    summary = 'the policies do not compile',
  ) {
    super(`${summary}:\n${errors.join('\n')}`);
  }
}
