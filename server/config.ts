// Sidecar settings: flags win over environment variables, which win over the defaults (DESIGN.md §2).
import { availableParallelism } from 'node:os';
import { z } from 'zod';

/**
 * One decision thread a core, at most 4: on 2 cores, 2 threads served 92% of the parse-only ceiling
 * against 80% for 1 and 89% for 3 (bench/README.md); each thread holds its own compiled policy set.
 */
export function defaultDecisionThreads(cores = availableParallelism()): number {
  return Math.min(4, Math.max(1, cores));
}

export const ServerConfig = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8181),
  socket: z.string().optional(),
  policies: z.string().default('policies'),
  db: z.string().default('data/fleetguard.db'),
  adminToken: z.string().min(16, 'the admin token must be at least 16 characters').optional(),
  /** Bearer token the AuthZEN endpoints require; without one the Authorization header is ignored. */
  authzenToken: z.string().min(16, 'the AuthZEN token must be at least 16 characters').optional(),
  /** Largest number of requests in one /v1/authorize/batch call. */
  batchLimit: z.coerce.number().int().min(1).default(1000),
  /** Threads that decide /v1/authorize/batch bodies besides the request thread (0: the request thread decides them). */
  decisionThreads: z.coerce.number().int().min(0).max(64).default(defaultDecisionThreads()),
  /** Largest request body, in bytes. */
  bodyLimit: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Decision log: flush interval, queue bound, what to do when full, retention. */
  logFlushMs: z.coerce.number().int().min(1).max(250).default(100),
  logQueueMax: z.coerce.number().int().min(1).default(500_000),
  logOverflow: z.enum(['block', 'drop']).default('block'),
  logRetentionDays: z.coerce.number().min(0).default(30),
  /** Most decisions in one block of the decision log (one row of SQLite). */
  logBlockRows: z.coerce.number().int().min(1).max(1_000_000).default(4096),
  logRequests: z
    .preprocess((v) => (typeof v === 'string' ? v !== 'false' && v !== '0' : v), z.boolean())
    .default(false),
  /** Reload when files in the policy directory change. */
  watch: z.preprocess((v) => (typeof v === 'string' ? v !== 'false' && v !== '0' : v), z.boolean()).default(true),
  /** false: the client address is the socket's. true, or addresses/CIDRs of trusted proxies: X-Forwarded-For. */
  trustProxy: z
    .preprocess(
      (v) =>
        v === 'true'
          ? true
          : v === 'false' || v === undefined
            ? false
            : typeof v === 'string'
              ? v.split(',').map((s) => s.trim())
              : v,
      z.union([z.boolean(), z.array(z.string().min(1))]),
    )
    .default(false),
  /** Provisioning attempts per minute, per key and per client address. */
  provisionRateLimit: z.coerce.number().int().min(1).default(60),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

/** Environment variable for each setting. */
export const ENV: Record<keyof ServerConfig, string> = {
  host: 'FLEETGUARD_HOST',
  port: 'FLEETGUARD_PORT',
  socket: 'FLEETGUARD_SOCKET',
  policies: 'FLEETGUARD_POLICIES',
  db: 'FLEETGUARD_DB',
  adminToken: 'FLEETGUARD_ADMIN_TOKEN',
  authzenToken: 'FLEETGUARD_AUTHZEN_TOKEN',
  batchLimit: 'FLEETGUARD_BATCH_LIMIT',
  bodyLimit: 'FLEETGUARD_BODY_LIMIT',
  decisionThreads: 'FLEETGUARD_DECISION_THREADS',
  logFlushMs: 'FLEETGUARD_LOG_FLUSH_MS',
  logQueueMax: 'FLEETGUARD_LOG_QUEUE_MAX',
  logOverflow: 'FLEETGUARD_LOG_OVERFLOW',
  logRetentionDays: 'FLEETGUARD_LOG_RETENTION_DAYS',
  logRequests: 'FLEETGUARD_LOG_REQUESTS',
  logBlockRows: 'FLEETGUARD_LOG_BLOCK_ROWS',
  watch: 'FLEETGUARD_WATCH',
  logLevel: 'FLEETGUARD_LOG_LEVEL',
  trustProxy: 'FLEETGUARD_TRUST_PROXY',
  provisionRateLimit: 'FLEETGUARD_PROVISION_RATE_LIMIT',
};

export function resolveConfig(
  flags: Partial<Record<keyof ServerConfig, unknown>>,
  env: NodeJS.ProcessEnv,
): ServerConfig {
  const merged: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const value = flags[key as keyof ServerConfig] ?? env[name];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const parsed = ServerConfig.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]);
    throw new Error(
      `invalid setting ${key} (--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} or ${ENV[key as keyof ServerConfig]}): ${issue.message}`,
    );
  }
  return parsed.data;
}
