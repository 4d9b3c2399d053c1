// Every command explains itself (`--help`, exit 0) and every ordinary mistake is one line on stderr, exit 2,
// with no stack trace and nothing created on disk. Most cases call the CLI's main() in this process (the
// launcher prints a stack trace only when main() rejects); one runs the real process.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { fleetguardAsync, type CliResult } from '../support/cli.js';
import { REPO_DIR } from '../support/policies.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-usage-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `fleetguard ARGS` in this process, its output captured; one at a time (the capture is process-wide). */
async function fleetguardHere(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const capture = (stream: NodeJS.WriteStream, add: (text: string) => void) =>
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      add(String(chunk));
      return true;
    });
  const spies = [capture(process.stdout, (t) => (stdout += t)), capture(process.stderr, (t) => (stderr += t))];
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  try {
    return { status: await main(args), stdout, stderr };
  } finally {
    for (const spy of spies) spy.mockRestore();
    vi.unstubAllEnvs();
  }
}

/** The names under "Commands:" in a help text, without commander's own `help`. */
function commandsIn(help: string): string[] {
  const section = help.split('\nCommands:\n')[1];
  if (!section) return [];
  return [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

function expectOneLineUsageError(r: CliResult, message: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('fleetguard --help and --version', () => {
  it('every command and subcommand answers --help on stdout with exit 0', async () => {
    const top = await fleetguardHere(['--help']);
    expect(top.status).toBe(0);
    const commands = commandsIn(top.stdout);
    expect(commands).toEqual(
      expect.arrayContaining(['check', 'validate', 'test', 'plan', 'serve', 'audit', 'keys', 'entities', 'verify']),
    );
    const helped = new Map<string, CliResult>();
    const pending = commands.map((c) => [c]);
    for (let path = pending.shift(); path; path = pending.shift()) {
      const r = await fleetguardHere([...path, '--help']);
      helped.set(path.join(' '), r);
      for (const sub of commandsIn(r.stdout)) pending.push([...path, sub]);
    }
    for (const [path, r] of helped) {
      expect(r.status, path).toBe(0);
      expect(r.stderr, path).toBe('');
      expect(r.stdout, path).toMatch(new RegExp(`^Usage: fleetguard ${path} `));
    }
    expect([...helped.keys()]).toEqual(
      expect.arrayContaining(['keys create-provisioning', 'keys list', 'keys create-token', 'entities import']),
    );
    expect(helped.get('keys create-provisioning')!.stdout).toContain('--cidr <C>');
    // `fleetguard help COMMAND` says the same as `fleetguard COMMAND --help`.
    expect((await fleetguardHere(['help', 'audit'])).stdout).toBe(helped.get('audit')!.stdout);
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_DIR, 'package.json'), 'utf8')) as { version: string };
    const r = await fleetguardHere(['--version']);
    expect(r).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('without a command prints the help on stderr and exits 2', async () => {
    const r = await fleetguardHere([]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Usage: fleetguard /);
  });
});

describe('ordinary errors are one line and exit 2', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['an unknown command', ['chekc'], {}, /^fleetguard: unknown command 'chekc'/],
    ['an unknown option', ['validate', 'policies', '--jsno'], {}, /^fleetguard validate: unknown option '--jsno'/],
    ['an unknown subcommand', ['keys', 'lsit'], {}, /^fleetguard keys: unknown command 'lsit'/],
    ['a missing argument', ['verify'], {}, /^fleetguard verify: missing required argument 'DIR'/],
    ['a missing required option', ['plan'], {}, /^fleetguard plan: required option '--request <FILE\|->'/],
    ['too many arguments', ['validate', 'a', 'b'], {}, /^fleetguard validate: too many arguments/],
    [
      'a request file that does not exist',
      ['check', '--request', join(tmp, 'none.json')],
      {},
      /^fleetguard check: ENOENT: no such file or directory/,
    ],
    [
      'a setting from the environment that does not validate',
      ['serve'],
      { FLEETGUARD_BODY_LIMIT: '10' },
      /^fleetguard serve: invalid FLEETGUARD_BODY_LIMIT "10" \(flag --body-limit\): too small/,
    ],
    [
      'a flag that does not validate',
      ['serve', '--port', 'eighty'],
      {},
      /^fleetguard serve: invalid --port "eighty" \(FLEETGUARD_PORT\): /,
    ],
    [
      'a switch that is neither on nor off',
      ['serve'],
      { FLEETGUARD_LOG_REQUESTS: 'sometimes' },
      /^fleetguard serve: invalid FLEETGUARD_LOG_REQUESTS "sometimes" \(flag --log-requests\)/,
    ],
    [
      'a CIDR that does not parse, named by the flag given',
      [
        'keys',
        'create-provisioning',
        '--db',
        join(tmp, 'keys.db'),
        '--fleet',
        'f',
        '--organization',
        'o',
        '--expires-at',
        '2030-01-01T00:00:00Z',
        '--cidr',
        'bad',
      ],
      {},
      /^fleetguard keys create-provisioning: invalid provisioning key: --cidr: /,
    ],
  ];
  it.each(cases)('%s', async (_what, args, env, message) => {
    expectOneLineUsageError(await fleetguardHere(args, env), message);
  });

  it('the process itself: one line, exit 2, no stack trace', async () => {
    expectOneLineUsageError(
      await fleetguardAsync(['serve'], { env: { FLEETGUARD_BODY_LIMIT: '10' } }),
      /^fleetguard serve: invalid FLEETGUARD_BODY_LIMIT "10" \(flag --body-limit\)/,
    );
  });

  it('a token that does not validate is named, never shown', async () => {
    const r = await fleetguardHere(['serve', '--admin-token', 'hunter2-secret']);
    expectOneLineUsageError(
      r,
      /^fleetguard serve: invalid --admin-token \(FLEETGUARD_ADMIN_TOKEN\): the admin token must be at least 16 characters$/,
    );
    expect(r.stderr).not.toContain('hunter2');
  });

  it('read-only and changing commands refuse a database that does not exist, and create nothing', async () => {
    const missing = join(tmp, 'nonexistent', 'x.db');
    expectOneLineUsageError(await fleetguardHere(['audit', '--db', missing]), /^fleetguard audit: no database at /);
    for (const args of [['list'], ['revoke', 'k-1'], ['delete-device', 'd-1'], ['create-token', 'u-1']])
      expectOneLineUsageError(
        await fleetguardHere(['keys', ...args, '--db', missing]),
        new RegExp(`^fleetguard keys ${args[0]}: no database at `),
      );
    expectOneLineUsageError(
      await fleetguardHere(['keys', 'list'], { FLEETGUARD_DB: join(tmp, 'newfile') }),
      /no database at .*newfile \(--db FILE or FLEETGUARD_DB\)$/,
    );
    expect(existsSync(join(tmp, 'nonexistent'))).toBe(false);
    expect(existsSync(join(tmp, 'newfile'))).toBe(false);
  });

  it('serve on a busy port says so in one line before it creates or migrates the database', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const db = join(tmp, 'busy', 'fleetguard.db');
      const r = await fleetguardHere(['serve', '--port', String(port), '--db', db, '--log-level', 'silent']);
      expectOneLineUsageError(r, new RegExp(`^fleetguard serve: listen EADDRINUSE: .*:${port}$`));
      expect(existsSync(join(tmp, 'busy'))).toBe(false);
    } finally {
      busy.close();
    }
  });

  it('serve on a Unix socket another server answers on says so in one line', async () => {
    const socket = join(tmp, 'taken.sock');
    const other: Server = createServer();
    await new Promise<void>((resolve) => other.listen(socket, resolve));
    try {
      const db = join(tmp, 'socket', 'fleetguard.db');
      expectOneLineUsageError(
        await fleetguardHere(['serve', '--socket', socket, '--db', db, '--log-level', 'silent', '--no-watch']),
        new RegExp(`^fleetguard serve: listen EADDRINUSE: a server is listening on ${socket}$`),
      );
      expect(existsSync(join(tmp, 'socket'))).toBe(false);
    } finally {
      other.close();
    }
  });

  it("the README's command line examples print what the README says", async () => {
    const readme = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');
    const examples = [...readme.matchAll(/^\$ ((?:[A-Z_]+=\S+ )*)fleetguard (.+)\n(.+)$/gm)];
    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const [, envText, argsText, expected] of examples) {
      const env = Object.fromEntries(
        envText!
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map((kv) => kv.split('=')),
      );
      const r = await fleetguardHere(argsText!.split(' '), env);
      expect(r.stderr.trimEnd(), argsText).toBe(expected);
      expect(r.status, argsText).toBe(2);
    }
  });
});
