// The sidecar's settings, each defined once: its flag, environment variable, type with default, help text and
// validation message all come from SETTINGS, and so do `fleetguard serve --help` and the README's table.
// Flags win over environment variables, which win over the defaults.
import { availableParallelism } from 'node:os';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { isPostgresUrl } from './store/store-url.js';

/**
 * One decision thread a core, at most 4: on 2 cores, 2 threads served 92% of the parse-only ceiling
 * against 80% for 1 and 89% for 3 (bench/README.md); each thread holds its own compiled policy set.
 */
export function defaultDecisionThreads(cores = availableParallelism()): number {
  return Math.min(4, Math.max(1, cores));
}

interface Setting {
  /** The value's name in help (`--port N`); a setting without one is a switch (`--log-requests`). */
  arg?: string;
  /** The switch turns a setting that is on by default off: `--no-watch`. */
  negate?: true;
  /** Parses the flag's or the variable's text (or a typed value from code) and holds the default. */
  schema: z.ZodType;
  /** One line for `--help` and the README's table (Markdown code spans allowed). */
  help: string;
  /** The default as a person reads it, where the value alone does not say it. */
  shownDefault?: string;
  /** Never echoed in an error. */
  secret?: true;
}

/** A switch's text from the environment: true/false, 1/0, on/off, yes/no. */
const switchValue = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const word = v.toLowerCase();
  return ['true', '1', 'on', 'yes'].includes(word) ? true : ['false', '0', 'off', 'no'].includes(word) ? false : v;
}, z.boolean());

const integer = () => z.coerce.number().int();

/** A base URL to publish: http(s), no credentials, query or fragment (AuthZEN's PDP identifier). */
function isPublicUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    !/[?#]/.test(text)
  );
}

/** What fastify's trustProxy list takes: an address, a CIDR range, or one of proxy-addr's named ranges. */
function isProxyAddress(text: string): boolean {
  if (ipaddr.isValid(text) || ['loopback', 'linklocal', 'uniquelocal'].includes(text)) return true;
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}

export const SETTINGS = {
  host: { arg: 'HOST', schema: z.string().default('127.0.0.1'), help: 'address to listen on' },
  port: { arg: 'N', schema: integer().min(0).max(65535).default(8181), help: 'TCP port (0: any free port)' },
  socket: { arg: 'PATH', schema: z.string().optional(), help: 'Unix socket to listen on instead of host and port' },
  policies: { arg: 'DIR', schema: z.string().default('policies'), help: 'policy directory' },
  shadowPolicies: {
    arg: 'DIR',
    schema: z.string().optional(),
    help: 'candidate policy directory: every request is decided again with it, off the request path, and the disagreements recorded (answers never change; reloaded like `--policies`; see `GET /v1/admin/shadow`)',
  },
  db: {
    arg: 'FILE',
    schema: z
      .string()
      .refine((v) => !isPostgresUrl(v), 'the SQLite file; a postgres:// URL goes to --store (FLEETGUARD_STORE)')
      .default('data/fleetguard.db'),
    help: 'SQLite file: keys, entities and the decision log (with `--store`, the decision log alone)',
  },
  store: {
    arg: 'URL',
    schema: z.string().refine(isPostgresUrl, 'a postgres:// or postgresql:// URL').optional(),
    help: 'shared store, a `postgres://` or `postgresql://` URL: keys, devices, provisioning keys and their counts, users and entities live there for every sidecar (see Running many sidecars)',
    secret: true,
  },
  storeStaleAfter: {
    arg: 'SECONDS',
    schema: z.coerce.number().min(0).max(86_400).default(30),
    help: 'with `--store`: seconds credential principals are still checked against the cache while the store is unreachable; after that they are denied',
  },
  adminToken: {
    arg: 'TOKEN',
    schema: z.string().min(16, 'the admin token must be at least 16 characters').optional(),
    help: 'admin token: the admin endpoints exist only with one (at least 16 characters)',
    secret: true,
  },
  adminTokenFile: {
    arg: 'FILE',
    schema: z.string().optional(),
    help: 'file holding the admin token, read at start, so the token is not visible in `ps` (one trailing newline removed; not with `--admin-token`)',
  },
  authzenToken: {
    arg: 'TOKEN',
    schema: z.string().min(16, 'the AuthZEN token must be at least 16 characters').optional(),
    help: 'bearer token the AuthZEN endpoints require (at least 16 characters); without one they need none',
    secret: true,
  },
  publicUrl: {
    arg: 'URL',
    schema: z
      .string()
      .refine(isPublicUrl, 'an http or https URL without query or fragment, such as https://pdp.example.com')
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
    help: "the URL clients reach the sidecar at: the AuthZEN metadata names it and its endpoints under it (without one, the request's Host header)",
  },
  batchLimit: {
    arg: 'N',
    schema: integer().min(1).default(1000),
    help: 'most requests in one `/v1/authorize/batch` call, and items in one AuthZEN `/access/v1/evaluations` call',
  },
  decisionThreads: {
    arg: 'N',
    schema: integer().min(0).max(64).default(defaultDecisionThreads()),
    help: 'threads that decide batches (0: the request thread decides them)',
    shownDefault: 'one a core, at most 4',
  },
  bodyLimit: {
    arg: 'BYTES',
    schema: integer()
      .min(1024)
      .default(1024 * 1024),
    help: 'largest request body in bytes (413 above)',
    shownDefault: '1 MiB',
  },
  logFlushMs: {
    arg: 'MS',
    schema: integer().min(1).max(250).default(100),
    help: 'decision log flush interval in milliseconds (at most 250)',
  },
  logQueueMax: { arg: 'N', schema: integer().min(1).default(500_000), help: 'decision log queue bound' },
  logOverflow: {
    arg: 'MODE',
    schema: z.enum(['block', 'drop']).default('block'),
    help: 'when the decision log queue is full: `block` (back-pressure) or `drop` (counted)',
  },
  logRetentionDays: {
    arg: 'DAYS',
    schema: z.coerce.number().min(0).default(30),
    help: 'decision log retention in days (0: keep everything)',
  },
  logBlockRows: {
    arg: 'N',
    schema: integer().min(1).max(1_000_000).default(4096),
    help: 'most decisions in one block of the decision log',
  },
  logRequests: {
    schema: switchValue.default(false),
    help: "also log each request's attributes (for replay)",
  },
  watch: { negate: true, schema: switchValue.default(true), help: 'reload when files in the policy directory change' },
  trustProxy: {
    arg: 'PROXIES',
    schema: z
      .preprocess(
        (v) => (typeof v !== 'string' ? v : /^(true|false)$/i.test(v) ? v.toLowerCase() === 'true' : v.split(',')),
        z.union([z.boolean(), z.array(z.string().trim().refine(isProxyAddress, 'not an address or CIDR range'))]),
      )
      .default(false),
    help: 'take the client address from X-Forwarded-For sent by these proxies (addresses or CIDRs, comma-separated); `true` trusts any sender, so a client chooses its own address',
  },
  provisionRateLimit: {
    arg: 'N',
    schema: integer().min(1).default(60),
    help: 'provisioning attempts a minute, per key and per client address',
  },
  shutdownTimeout: {
    arg: 'SECONDS',
    schema: z.coerce.number().min(0).max(3600).default(10),
    help: 'seconds a shutdown waits for the requests in flight before it destroys their connections',
  },
  logLevel: {
    arg: 'LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    help: 'sidecar log level (pino, JSON lines on stdout): `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`',
  },
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

export const ServerConfig = z.object(
  Object.fromEntries(Object.entries(SETTINGS).map(([name, s]) => [name, s.schema])) as {
    [K in SettingName]: (typeof SETTINGS)[K]['schema'];
  },
);
export type ServerConfig = z.infer<typeof ServerConfig>;

const words = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toLowerCase();

/** `--log-flush-ms`; `--no-watch` for a setting its switch turns off. */
export function flagOf(name: SettingName): string {
  const setting: Setting = SETTINGS[name];
  return `--${setting.negate ? 'no-' : ''}${words(name).replaceAll('_', '-')}`;
}

/** `FLEETGUARD_LOG_FLUSH_MS`. */
export function envOf(name: SettingName): string {
  return `FLEETGUARD_${words(name).toUpperCase()}`;
}

/** The default as help and the README show it. */
export function shownDefault(name: SettingName): string {
  const setting: Setting = SETTINGS[name];
  if (setting.shownDefault) return setting.shownDefault;
  const value: unknown = setting.schema.parse(undefined);
  if (value === undefined) return 'none';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return typeof value === 'string' ? `\`${value}\`` : String(value);
}

/** A setting's flag, variable and help as `fleetguard serve --help` lists them (code spans as plain text). */
export function helpOf(name: SettingName): { flags: string; description: string } {
  const setting: Setting = SETTINGS[name];
  const plain = (text: string) => text.replaceAll('`', '');
  return {
    flags: setting.arg ? `${flagOf(name)} <${setting.arg}>` : flagOf(name),
    description: `${plain(setting.help)} [${envOf(name)}; default ${plain(shownDefault(name))}]`,
  };
}

/** The README's settings table (test/server/settings.test.ts keeps the two equal). */
export function renderSettingsTable(): string {
  const rows = (Object.keys(SETTINGS) as SettingName[]).map((name) => {
    const setting: Setting = SETTINGS[name];
    const flag = setting.arg ? `${flagOf(name)} ${setting.arg}` : flagOf(name);
    return `| ${setting.help} | \`${flag}\` | \`${envOf(name)}\` | ${shownDefault(name)} |`;
  });
  return ['| setting | flag | environment | default |', '|---|---|---|---|', ...rows].join('\n');
}

/** A setting's value that does not validate; the message names the flag, the variable and where the value came from. */
export class SettingError extends Error {
  constructor(name: SettingName, value: unknown, from: 'flag' | 'env', problem: string) {
    const setting: Setting = SETTINGS[name];
    const shown = setting.secret ? '' : ` ${JSON.stringify(String(value))}`;
    const source =
      from === 'env' ? `${envOf(name)}${shown} (flag ${flagOf(name)})` : `${flagOf(name)}${shown} (${envOf(name)})`;
    super(`invalid ${source}: ${problem.replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase())}`);
  }
}

export function resolveConfig(flags: Partial<Record<SettingName, unknown>>, env: NodeJS.ProcessEnv): ServerConfig {
  const merged: Record<string, unknown> = {};
  const from: Record<string, 'flag' | 'env'> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const flag = flags[name];
    const value = flag ?? env[envOf(name)];
    if (value === undefined || value === '') continue;
    merged[name] = value;
    from[name] = flag === undefined ? 'env' : 'flag';
  }
  const parsed = ServerConfig.safeParse(merged);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0]) as SettingName;
  throw new SettingError(name, merged[name], from[name]!, issue.message);
}

/** One setting, for the commands besides `serve` that share it (`--db` of `audit`, `keys`, `entities`). */
export function resolveSetting<K extends SettingName>(name: K, flag: unknown, env: NodeJS.ProcessEnv): ServerConfig[K] {
  const value = flag ?? env[envOf(name)];
  const given = value === undefined || value === '' ? undefined : value;
  const parsed = SETTINGS[name].schema.safeParse(given);
  if (parsed.success) return parsed.data as ServerConfig[K];
  throw new SettingError(name, given, flag === undefined ? 'env' : 'flag', parsed.error.issues[0]!.message);
}
